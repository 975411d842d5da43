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


def test_incr_and_decr_take_one_round_trip_and_keep_djangos_contract(monkeypatch):
    import pytest

    from tests.helpers import redis_commands_sent

    cache = caches["default"]
    cache.delete("cache-incr-test")
    with pytest.raises(ValueError):
        cache.incr("cache-incr-test")  # missing: ValueError, and nothing is created
    assert cache.get("cache-incr-test") is None
    cache.add("cache-incr-test", 4, 30)
    assert cache.incr("cache-incr-test") == 5  # the script is loaded into Redis once, here
    client = cache._cache.get_client("cache-incr-test", write=True)
    sent = redis_commands_sent(client, monkeypatch)
    assert cache.incr("cache-incr-test", 3) == 8
    assert cache.decr("cache-incr-test") == 7
    assert sent == ["EVALSHA", "EVALSHA"]
    monkeypatch.undo()
    assert cache.get("cache-incr-test") == 7 and 0 < client.ttl(cache.make_and_validate_key("cache-incr-test")) <= 30
    cache.delete("cache-incr-test")
