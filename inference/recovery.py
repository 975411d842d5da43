"""Re-dispatch predictions whose broker message was lost.

With the Redis broker a worker SIGKILLed between popping a message and recording it as unacknowledged loses
that message for good (kombu#305): `acks_late` cannot help, because the broker no longer has it. The database
is the source of truth, so every inference worker periodically re-sends the run task of predictions that have
sat in `queued` for longer than PREDICTION_REQUEUE_AFTER_SECONDS. A duplicate is harmless: `run_prediction` is
idempotent and a finished or claimed prediction is not run twice. A cache key keeps the workers from all
re-sending the same prediction in the same window.
"""
import logging
import threading
from datetime import timedelta

from celery import signals
from django.conf import settings
from django.utils import timezone

logger = logging.getLogger(__name__)
_stop = threading.Event()


def requeue_after_seconds() -> int:
    return int(settings.MODELMARKET.get("PREDICTION_REQUEUE_AFTER_SECONDS", 30))


def predictions_requeue_lost(*, now=None, limit: int = 200) -> int:
    """Re-send the run task of predictions queued for too long; returns how many were re-sent."""
    from django.core.cache import cache

    from .models import Prediction
    from .services import _enqueue_prediction

    now = now or timezone.now()
    after = requeue_after_seconds()
    stale = (Prediction.objects.filter(status="queued", created_at__lt=now - timedelta(seconds=after))
             .select_related("version").order_by("created_at")[:limit])
    sent = 0
    for prediction in stale:
        if not cache.add(f"prediction-requeue:{prediction.pk}", 1, timeout=after):
            continue  # another worker re-sent it in this window
        queue = "inference-gpu" if prediction.hardware == "gpu" else "inference-cpu"
        version = prediction.version
        limits = (version.soft_time_limit, version.time_limit)
        _enqueue_prediction(str(prediction.pk), queue, limits, False)
        sent += 1
    if sent:
        logger.warning("re-sent %d prediction(s) queued for more than %d s (lost broker messages)", sent, after)
    return sent


@signals.worker_ready.connect
def _start_requeue_loop(sender=None, **kwargs) -> None:
    try:
        queues = sorted(queue.name for queue in sender.task_consumer.queues)
    except AttributeError:
        return
    if not any(name.startswith("inference-") for name in queues):
        return

    def loop() -> None:
        from django.db import close_old_connections

        while not _stop.wait(min(15, max(1, requeue_after_seconds() // 2))):
            try:
                close_old_connections()
                predictions_requeue_lost()
            except Exception:  # the database or broker being away for a moment must not kill the worker
                logger.warning("requeue of lost predictions failed", exc_info=True)

    threading.Thread(target=loop, daemon=True, name="prediction-requeue").start()


@signals.worker_shutdown.connect
def _stop_requeue_loop(sender=None, **kwargs) -> None:
    _stop.set()
