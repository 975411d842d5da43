"""Rate limits per API key (and per user or IP for the browser session and anonymous callers).

Each key has its own budget, so one busy integration cannot starve the owner's other keys. Over the
limit DRF raises `Throttled`, which our exception handler answers as 429 with `Retry-After`.

On Redis (every deployment, and `make run`'s embedded one) the budget is kept by GCRA, the generic cell rate
algorithm (as redis-cell and `throttled` do): one timestamp per key, the "theoretical arrival time", moved
on by period/limit per call in one Lua script, with Redis's own clock so that every web host agrees. It is
exact (a burst of `limit`, then one call per period/limit; Retry-After is when the next call fits) and O(1).
DRF's own throttle reads, filters and rewrites a list of every call's time: O(rate) CPU per request, and two
concurrent requests can both read the old list and lose a call. Other caches (the SQLite smoke settings)
keep DRF's list.
"""
import math
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from .models import ApiKey


class ApiKeyRateThrottle(SimpleRateThrottle):
    scope = "api_key"
    _wait: float | None = None

    def get_rate(self) -> str | None:
        # Read the settings on every request (not once at import) so the rate can change without a restart
        # of the class, e.g. per environment or in tests.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request, view) -> bool:
        """A key's own rate (set by moderators in the admin) wins over the default."""
        if isinstance(request.auth, ApiKey) and request.auth.rate_limit:
            self.rate = request.auth.rate_limit
            self.num_requests, self.duration = self.parse_rate(self.rate)
        store = _redis_cache()
        if self.rate is None or store is None:
            return super().allow_request(request, view)
        self.key = self.get_cache_key(request, view)
        allowed, self._wait = _gcra_hit(store, self.key, limit=self.num_requests, seconds=self.duration)
        return allowed

    def wait(self) -> float | None:
        return self._wait if self._wait is not None else super().wait()

    def get_cache_key(self, request, view) -> str:
        if isinstance(request.auth, ApiKey):
            ident = f"key-{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = f"ip-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


def _redis_cache() -> RedisCache | None:
    """The default cache when it is Redis (`cache` is a proxy: isinstance needs the real backend)."""
    store = caches["default"]
    return store if isinstance(store, RedisCache) else None


# KEYS: the key's arrival time. ARGV: seconds per call, the period, and "now" (empty: Redis's clock).
# Answers {allowed, seconds to wait} as strings (Lua numbers would be cut to integers).
_GCRA = """
local now = tonumber(ARGV[3])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local interval, period = tonumber(ARGV[1]), tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local next_tat = tat + interval
if next_tat - now > period then
  return {'0', tostring(next_tat - period - now)}
end
redis.call('SET', KEYS[1], tostring(next_tat), 'PX', math.ceil((next_tat - now) * 1000) + 1000)
return {'1', '0'}
"""


_SCRIPTS: dict[int, Any] = {}


def _gcra_hit(cache: RedisCache, key: str, *, limit: int, seconds: int, now: float | None = None,
              ) -> tuple[bool, float | None]:
    """Count one call if it fits; (allowed, seconds to wait when refused). A refused call is not counted."""
    name = cache.make_key(key)
    client: Any = cache._cache.get_client(name, write=True)
    script = _SCRIPTS.get(id(client))
    if script is None:  # one Script (and its SHA-1) per client, not per call: this runs on every API request
        script = _SCRIPTS[id(client)] = client.register_script(_GCRA)
    allowed, wait = script(keys=[name], args=[seconds / limit, seconds, "" if now is None else repr(now)],
                           client=client)
    if int(allowed):
        return True, None
    return False, float(max(1, math.ceil(float(wait))))


def api_key_rate_and_usage(api_key: ApiKey) -> tuple[str, int]:
    """(the key's rate, requests counted in its current window), read from the throttle's own counters."""
    throttle = ApiKeyRateThrottle()
    rate = api_key.rate_limit or throttle.get_rate() or ""
    if not rate:
        return "", 0
    limit, duration = throttle.parse_rate(rate)
    key = throttle.cache_format % {"scope": throttle.scope, "ident": f"key-{api_key.pk}"}
    now = throttle.timer()
    store = _redis_cache()
    if store is not None:
        name = store.make_key(key)
        client: Any = store._cache.get_client(name)
        pipe = client.pipeline(transaction=False)
        pipe.get(name)
        pipe.time()
        arrival, (whole, micro) = pipe.execute()
        ahead = float(arrival or 0) - (whole + micro / 1_000_000)  # how far the key runs ahead of the clock
        return rate, max(0, math.ceil(round(ahead / (duration / limit), 6)))
    history = throttle.cache.get(key) or []
    return rate, sum(1 for stamp in history if stamp > now - duration)
