"""Django's Redis cache, keeping one client object per connection pool.

The stock backend builds a new `redis.Redis` for every cache call, and each one fills a dict of ~170 response
callbacks: on `POST /predictions/` the API key throttle's get and set cost more in that constructor than in
talking to Redis (py-spy, README "Serving"). A client over a pool is thread-safe, so one per pool is enough.
"""
from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class ReusedClientRedisCacheClient(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

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
