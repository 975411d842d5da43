"""Prometheus facts read at scrape time (broker queue depth, the apps' registered collectors) and `/metrics`.

Apart from config/metrics.py (the metric objects and `record_*`), because these reach the broker: code that
records a metric (billing's ledger, for one) imports nothing of this.
"""
from __future__ import annotations

import logging
import os

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

import config.metrics  # registers the metric objects that render() exposes, and holds the apps' collectors

logger = logging.getLogger(__name__)


def queue_depths() -> dict[str, int]:
    """Messages waiting per queue on the broker (Redis: list length; AMQP: a passive declare's message count).

    With Redis, Celery's priority steps live in extra lists (`queue\\x06\\x163` …), and predictions wait in the
    Redis dispatch's lists (`inference.dispatch`, both priority levels): they are summed in.
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
            from inference.dispatch import INFERENCE_QUEUES, dispatch_waiting

            for name, count in dispatch_waiting(client, INFERENCE_QUEUES).items():
                depths[name] = depths.get(name, 0) + count
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
        # The apps' own scrape-time facts (inference's worker heartbeats), registered in their AppConfig.ready():
        # config reads no app's models itself.
        for collector in list(config.metrics._scrape_collectors):
            yield from collector.collect()


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


