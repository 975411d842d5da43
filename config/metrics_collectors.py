"""Prometheus facts read at scrape time (broker queue depth, worker heartbeats) and the `/metrics` body.

Apart from config/metrics.py (the metric objects and `record_*`), because these read models: code that
records a metric (billing's ledger, for one) must not import inference through them.
"""
from __future__ import annotations

import logging
import os
import time

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

import config.metrics  # noqa: F401 - registers the metric objects that render() exposes

logger = logging.getLogger(__name__)


def queue_depths() -> dict[str, int]:
    """Messages waiting per queue on the broker (Redis: list length; AMQP: a passive declare's message count).

    With Redis, Celery's priority steps live in extra lists (`queue\\x06\\x163` …): they are summed in.
    """
    from config.celery import QUEUES, app

    depths: dict[str, int] = {}
    with app.connection_for_read() as conn:
        transport = conn.transport.driver_type
        if transport == "redis":
            client = conn.default_channel.client
            for name in QUEUES:
                keys = [name] + [f"{name}\x06\x16{step}" for step in range(1, 10)]
                pipe = client.pipeline()
                for key in keys:
                    pipe.llen(key)
                depths[name] = int(sum(pipe.execute()))
        elif transport == "amqp":
            channel = conn.default_channel
            for name in QUEUES:
                try:
                    _queue, count, _consumers = channel.queue_declare(queue=name, passive=True)
                except Exception:  # noqa: BLE001 - not declared yet: nothing waiting
                    channel = conn.channel()
                    count = 0
                depths[name] = int(count)
        else:
            from kombu import Queue

            for name in QUEUES:
                try:
                    depths[name] = int(Queue(name, channel=conn.default_channel).queue_declare(passive=True)
                                       .message_count)
                except Exception:  # noqa: BLE001
                    depths[name] = 0
    return depths


class ScrapeTimeCollector:
    """Gauges that are facts about the whole deployment, read when Prometheus scrapes."""

    def collect(self):
        depth = GaugeMetricFamily("modelmarket_queue_depth", "Messages waiting on the broker, per queue.",
                                  labels=["queue"])
        try:
            for name, count in queue_depths().items():
                depth.add_metric([name], count)
        except Exception:  # noqa: BLE001 - the broker being away shows as missing samples, not a 500
            logger.warning("queue depth not available", exc_info=True)
        yield depth
        seen = GaugeMetricFamily("modelmarket_worker_heartbeat_age_seconds",
                                 "Seconds since each inference worker's last heartbeat.", labels=["worker", "queues"])
        alive = GaugeMetricFamily("modelmarket_workers_alive", "Inference workers with a fresh heartbeat, per queue.",
                                  labels=["queue"])
        try:
            from inference.models import WorkerHeartbeat

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


def render() -> bytes:
    """The exposition text for `/metrics`: this process (or every process in multiprocess mode) + scrape-time facts."""
    from prometheus_client import REGISTRY

    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    extra = CollectorRegistry()
    extra.register(ScrapeTimeCollector())
    return body + generate_latest(extra)


