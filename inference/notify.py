"""Tell waiting web requests that a prediction finished, without polling the database.

With a Redis broker the worker pushes to a per-prediction list and `Prefer: wait` blocks on it (BLMOVE);
with any other broker `wait_done` answers None and the caller polls the database instead.
"""
import logging
import threading

from django.conf import settings

logger = logging.getLogger(__name__)
_client = None
_lock = threading.Lock()
TTL_SECONDS = 300


def broker_redis():
    """The broker's Redis (a shared, thread-safe client), or None when the broker is not Redis.

    Also the transport of the Redis dispatch of predictions (`inference.dispatch`)."""
    global _client
    url = settings.CELERY_BROKER_URL or ""
    if not url.startswith(("redis://", "rediss://", "redis+socket://")):
        return None
    with _lock:
        if _client is None:
            import redis

            if url.startswith("redis+socket://"):  # the embedded default's private Redis (kombu's spelling)
                _client = redis.Redis(unix_socket_path=url.removeprefix("redis+socket://"), socket_timeout=70,
                                      health_check_interval=30)
            else:
                _client = redis.Redis.from_url(url, socket_timeout=70, health_check_interval=30)
        return _client


_redis = broker_redis  # the name config/health.py knows


def _key(prediction_id) -> str:
    return f"modelmarket:prediction-done:{prediction_id}"


def notify_done(prediction_id) -> None:
    client = _redis()
    if client is None:
        return
    try:
        pipe = client.pipeline()
        pipe.lpush(_key(prediction_id), 1)
        pipe.expire(_key(prediction_id), TTL_SECONDS)
        pipe.execute()
    except Exception:  # waiting clients fall back to their deadline; the result is in the database anyway
        logger.warning("could not notify %s", prediction_id, exc_info=True)


def notify_done_many(prediction_ids) -> None:
    """One Redis round trip for a whole batch of finished predictions."""
    client = _redis()
    if client is None or not prediction_ids:
        return
    try:
        pipe = client.pipeline(transaction=False)
        for prediction_id in prediction_ids:
            pipe.lpush(_key(prediction_id), 1)
            pipe.expire(_key(prediction_id), TTL_SECONDS)
        pipe.execute()
    except Exception:
        logger.warning("could not notify a batch of %d", len(prediction_ids), exc_info=True)


def wait_done(prediction_id, seconds: float) -> bool | None:
    """True when notified, False on timeout, None when there is no Redis to wait on."""
    client = _redis()
    if client is None:
        return None
    key = _key(prediction_id)
    try:
        # BLMOVE from the list to itself: wakes on the worker's push and leaves the mark in place for any other
        # waiter of the same prediction, in one round trip (BLPOP and a push back were two). Redis >= 6.2.
        answer = client.blmove(key, key, max(seconds, 0.001), src="RIGHT", dest="LEFT")
    except Exception:
        logger.warning("could not wait on %s", prediction_id, exc_info=True)
        return None
    return answer is not None
