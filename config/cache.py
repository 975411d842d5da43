"""Django's Redis cache, keeping one client object per connection pool.

The stock backend builds a new `redis.Redis` for every cache call, and each one fills a dict of ~170 response
callbacks: on `POST /predictions/` the API key throttle's get and set cost more in that constructor than in
talking to Redis (py-spy, README "Serving"). A client over a pool is thread-safe, so one per pool is enough.
`incr` and `decr` (the `Prefer: wait` slot counts, on every waiting call) take one round trip instead of two.
"""
from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient

# INCRBY only when the key exists (Django's `incr` contract: ValueError for a missing key), in one round trip.
_INCR_EXISTING = "if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('INCRBY', KEYS[1], ARGV[1]) end " \
                 "return false"


class ReusedClientRedisCacheClient(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}
        self._incr_scripts: dict[int, Any] = {}

    def incr(self, key: Any, delta: int) -> Any:
        """`incr`/`decr` in one round trip (a Lua script): the stock EXISTS then INCRBY took two."""
        client = self.get_client(key, write=True)
        script = self._incr_scripts.get(id(client))
        if script is None:
            script = self._incr_scripts[id(client)] = client.register_script(_INCR_EXISTING)
        value = script(keys=[key], args=[delta])
        if value is None:
            raise ValueError(f"Key '{key}' not found.")
        return value

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server: str, params: dict[str, Any]):
        super().__init__(server, params)
        self._class = ReusedClientRedisCacheClient
