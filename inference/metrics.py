"""Inference's metrics: worker heartbeat gauges read at scrape time (registered in `InferenceConfig.ready()`),
and final statuses labelled by app slug."""
from __future__ import annotations

import functools
import logging
import time
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily

from config import metrics

logger = logging.getLogger(__name__)


class WorkerHeartbeatCollector:
    """Seconds since each inference worker's last heartbeat, and the workers alive per queue."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        seen = GaugeMetricFamily("modelmarket_worker_heartbeat_age_seconds",
                                 "Seconds since each inference worker's last heartbeat.", labels=["worker", "queues"])
        alive = GaugeMetricFamily("modelmarket_workers_alive", "Inference workers with a fresh heartbeat, per queue.",
                                  labels=["queue"])
        try:
            from .models import WorkerHeartbeat

            now = time.time()
            per_queue: dict[str, int] = {}
            for beat in WorkerHeartbeat.objects.all():
                age = max(0.0, now - beat.last_seen.timestamp())
                seen.add_metric([beat.hostname, ",".join(beat.queues or [])], age)
                if age < 60:
                    for name in beat.queues or []:
                        per_queue[name] = per_queue.get(name, 0) + 1
            for name, count in sorted(per_queue.items()):
                alive.add_metric([name], count)
        except Exception:  # noqa: BLE001
            logger.warning("worker heartbeats not available", exc_info=True)
        yield seen
        yield alive


@functools.lru_cache(maxsize=4096)
def _app_slug(app_id: int) -> str:
    """Apps are labelled by slug (readable dashboards); looked up once per app per process."""
    from marketplace.models import App

    return App.objects.filter(pk=app_id).values_list("slug", flat=True).first() or str(app_id)


def record_prediction_final(*, app_id: int, status: str, hardware: str) -> None:
    """A prediction reached a final status. Never raises: metrics must not break a prediction."""
    try:
        app = _app_slug(app_id)
    except Exception:  # noqa: BLE001 - metrics are best effort
        logger.debug("metric for app %s not recorded", app_id, exc_info=True)
        return
    metrics.record_prediction_final(app=app, status=status, hardware=hardware)
