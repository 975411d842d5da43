"""A worker's life: heartbeats with its queues and devices (routing and 503s read them), the lost-message loop.

Started from the Celery signal handlers in `inference.tasks` (every worker beats; healthz reads liveness from
these rows; only inference workers run the requeue loop).
"""
from __future__ import annotations

import logging
import threading
from typing import Any

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from config.metrics import record_heartbeat

from ..models import WorkerHeartbeat
from .engine import worker_device
from .recovery import predictions_requeue_lost, requeue_after_seconds

logger = logging.getLogger(__name__)
_stop = threading.Event()


def worker_heartbeat(*, hostname: str, queues: list[str], devices: list[str]) -> None:
    WorkerHeartbeat.objects.update_or_create(
        hostname=hostname, defaults={"queues": queues, "devices": devices, "last_seen": timezone.now()})
    record_heartbeat(worker=hostname)


def worker_gone(*, hostname: str) -> None:
    WorkerHeartbeat.objects.filter(hostname=hostname).delete()


def _served_queues(consumer: Any) -> list[str] | None:
    try:
        return sorted(queue.name for queue in consumer.task_consumer.queues)
    except AttributeError:
        return None


def _concurrency(consumer: Any) -> int:
    controller = getattr(consumer, "controller", None)
    return int(getattr(controller, "concurrency", 0) or getattr(consumer.pool, "limit", 0) or 1)


def worker_started(consumer: Any) -> None:
    """On `worker_ready`: the heartbeat thread; on inference workers the requeue loop, and with the Redis
    dispatch (`settings.PREDICTION_DISPATCH`) the dispatcher that takes prediction ids from Redis lists."""
    served = _served_queues(consumer)
    _start_heartbeat(hostname=consumer.hostname, queues=served or [])
    if served is not None and any(name.startswith("inference-") for name in served):
        _start_requeue_loop()
        if redis_dispatch_enabled():
            from .dispatcher import dispatcher_start

            dispatcher_start(queues=served, capacity=_concurrency(consumer), hostname=consumer.hostname)


def redis_dispatch_enabled() -> bool:
    """On a worker: whether the web pushes predictions onto Redis lists (eager mode does not concern workers)."""
    return (settings.PREDICTION_DISPATCH != "celery"
            and (settings.CELERY_BROKER_URL or "").startswith(("redis://", "rediss://", "redis+socket://")))


def worker_stop_taking() -> None:
    """On `worker_shutting_down` (SIGTERM): the dispatcher takes no more ids; Celery stops consuming itself."""
    from .dispatcher import dispatcher_stop_taking

    dispatcher_stop_taking()


def worker_stopping(*, hostname: str) -> None:
    """On `worker_shutdown`: finish and ack what the dispatcher holds, stop the loops, remove the heartbeat row."""
    from .dispatcher import dispatcher_drain

    try:
        dispatcher_drain()
    except Exception:
        logger.warning("could not drain the dispatcher", exc_info=True)
    _stop.set()
    try:
        worker_gone(hostname=hostname)
    except Exception:
        logger.warning("could not remove heartbeat", exc_info=True)


def _start_heartbeat(*, hostname: str, queues: list[str]) -> None:
    def beat() -> None:
        device = worker_device() if "inference-gpu" in queues else "cpu"
        while not _stop.is_set():
            try:
                close_old_connections()
                worker_heartbeat(hostname=hostname, queues=queues, devices=[device])
            except Exception:  # the database being away for a moment must not kill the worker
                logger.warning("heartbeat failed", exc_info=True)
            _stop.wait(15)

    threading.Thread(target=beat, daemon=True, name="inference-heartbeat").start()


def _start_requeue_loop() -> None:
    def loop() -> None:
        while not _stop.wait(min(15, max(1, requeue_after_seconds() // 2))):
            try:
                close_old_connections()
                predictions_requeue_lost()
            except Exception:  # the database or broker being away for a moment must not kill the worker
                logger.warning("requeue of lost predictions failed", exc_info=True)

    threading.Thread(target=loop, daemon=True, name="prediction-requeue").start()
