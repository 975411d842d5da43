"""config.cache: the Redis cache keeps one client per pool (the stock one built a client per call)."""
from django.core.cache import caches


def test_the_redis_cache_reuses_its_client_and_still_works():
    from config.cache import RedisCache

    cache = caches["default"]
    assert isinstance(cache, RedisCache)  # what CACHE_URL=redis://... gives (config/settings.py)
    cache.set("cache-backend-test", {"n": 1}, 30)
    first = cache._cache.get_client("cache-backend-test", write=True)
    assert cache.get("cache-backend-test") == {"n": 1}
    assert cache.add("cache-backend-counter", 0, 30) and cache.incr("cache-backend-counter", 2) == 2
    assert cache._cache.get_client("cache-backend-test", write=True) is first
    cache.delete_many(["cache-backend-test", "cache-backend-counter"])
    assert cache.get("cache-backend-test") is None
