"""Prometheus metrics: the objects, a few `record_*` functions the services call, and scrape-time collectors.

Counters and histograms are recorded where things happen (a web process or a worker). Every process keeps
its own; two ways to read them:

- web: `/metrics` (config/observability.py), guarded by a token or an allowed network. With several
  gunicorn processes set `PROMETHEUS_MULTIPROC_DIR` (prometheus-client's multiprocess mode) so one scrape
  sums them all;
- workers: `WORKER_METRICS_PORT` makes each Celery worker serve its own registry on that port
  (`record_*` calls in the worker land there). A threads-pool worker (`manage.py inference_worker`) needs
  nothing else; a prefork worker also needs `PROMETHEUS_MULTIPROC_DIR` so its child processes are summed.

Queue depth per queue and worker heartbeats are read at scrape time (broker and database), so they are right
whichever process answers: they live in config/metrics_collectors.py, which reads models, so that this module
imports none (billing's ledger records its postings here and must not import inference). `record_*` functions
never raise: metrics must not break a prediction.
"""
from __future__ import annotations

import logging
import os

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics

disable_created_metrics()  # `*_created` timestamps double the series and no dashboard uses them

logger = logging.getLogger(__name__)

_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)

PREDICTIONS = Counter(
    "modelmarket_predictions", "Predictions that reached a final status, by app, status and hardware.",
    ["app", "status", "hardware"])
PREDICTIONS_CREATED = Counter(
    "modelmarket_predictions_admitted", "Predictions admitted and queued, by app and queue.", ["app", "queue"])
BATCH_SIZE = Histogram(
    "modelmarket_batch_size", "Items per forward pass of the dynamic batcher.",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256))
QUEUE_SECONDS = Histogram(
    "modelmarket_prediction_queue_seconds", "From admission to a worker claiming the prediction.", ["hardware"],
    buckets=_SECONDS)
LOAD_SECONDS = Histogram(
    "modelmarket_model_load_seconds", "Time to load a model into a worker's cache (cold starts only).",
    ["hardware"], buckets=_SECONDS)
PREDICT_SECONDS = Histogram(
    "modelmarket_predict_seconds", "Forward-pass time of one batch.", ["hardware"], buckets=_SECONDS)
MODEL_CACHE = Counter(
    "modelmarket_model_cache", "Model cache lookups and evictions in workers.", ["event"])  # hit|miss|eviction
LEDGER_POSTINGS = Counter(
    "modelmarket_ledger_postings", "Balanced ledger transactions booked, by kind.", ["kind"])
WEBHOOK_DELIVERIES = Counter(
    "modelmarket_webhook_deliveries", "Webhook delivery attempts by outcome.", ["outcome"])
HEARTBEATS = Counter(
    "modelmarket_worker_heartbeats", "Heartbeats written by this worker process.", ["worker"])
HTTP_REQUESTS = Counter(
    "modelmarket_http_requests", "HTTP requests answered, by method, route and status class.",
    ["method", "route", "status"])
HTTP_SECONDS = Histogram(
    "modelmarket_http_request_seconds", "HTTP request duration, by route.", ["route"], buckets=_SECONDS)


def _safe(record):
    def wrapper(*args, **kwargs):
        try:
            record(*args, **kwargs)
        except Exception:  # noqa: BLE001 - metrics are best effort
            logger.debug("metric %s not recorded", record.__name__, exc_info=True)
    wrapper.__name__ = record.__name__
    wrapper.__doc__ = record.__doc__
    return wrapper


@_safe
def record_prediction_created(*, app: str, queue: str) -> None:
    """At admission (web): `app` is the slug, already in hand, so this costs no query."""
    PREDICTIONS_CREATED.labels(app=app, queue=queue).inc()


@_safe
def record_prediction_final(*, app: str, status: str, hardware: str) -> None:
    """`app` is the app's slug (readable dashboards)."""
    PREDICTIONS.labels(app=app, status=status, hardware=hardware or "cpu").inc()


@_safe
def record_prediction_timings(*, hardware: str, queue_ms: float | None, load_ms: float | None) -> None:
    """Per prediction: time waiting in the queue, and model load time when this prediction paid for it."""
    hardware = hardware or "cpu"
    if queue_ms is not None:
        QUEUE_SECONDS.labels(hardware=hardware).observe(max(queue_ms, 0) / 1000)
    if load_ms:
        LOAD_SECONDS.labels(hardware=hardware).observe(load_ms / 1000)


@_safe
def record_batch(*, size: int, predict_seconds: float, hardware: str = "") -> None:
    """Per forward pass: how many items it carried and how long it took."""
    BATCH_SIZE.observe(size)
    PREDICT_SECONDS.labels(hardware=hardware or _worker_hardware()).observe(predict_seconds)


@_safe
def record_model_cache(*, event: str, count: int = 1) -> None:
    MODEL_CACHE.labels(event=event).inc(count)


@_safe
def record_ledger_posting(*, kind: str) -> None:
    LEDGER_POSTINGS.labels(kind=kind).inc()


@_safe
def record_webhook_delivery(*, outcome: str) -> None:
    """outcome: delivered | retrying | failed | refused."""
    WEBHOOK_DELIVERIES.labels(outcome=outcome).inc()


@_safe
def record_heartbeat(*, worker: str) -> None:
    HEARTBEATS.labels(worker=worker).inc()


@_safe
def record_http_request(*, method: str, route: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(method=method, route=route, status=f"{status // 100}xx").inc()
    HTTP_SECONDS.labels(route=route).observe(seconds)


def _worker_hardware() -> str:
    device = os.environ.get("MODELMARKET_INFERENCE_DEVICE", "cpu")
    return "gpu" if device.startswith("cuda") else "cpu"


# Scrape-time collectors of the apps (e.g. inference's worker heartbeats), registered in their AppConfig.ready():
# config reads no app's models itself.
_scrape_collectors: list = []


def scrape_collector_register(collector) -> None:
    """Add a collector (an object with `collect()`) to what `/metrics` reads at scrape time; once per process."""
    if not any(type(known) is type(collector) for known in _scrape_collectors):
        _scrape_collectors.append(collector)


_worker_server_started = False


def start_worker_metrics_server() -> int | None:
    """Serve this worker process's registry on `WORKER_METRICS_PORT` (0 = any free port); None when unset."""
    global _worker_server_started
    port = os.environ.get("WORKER_METRICS_PORT", "")
    if port == "" or _worker_server_started:
        return None
    from prometheus_client import REGISTRY, start_http_server

    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # a prefork pool: sum what every child process recorded
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    server, _thread = start_http_server(int(port), addr=os.environ.get("WORKER_METRICS_ADDR", "127.0.0.1"),
                                        registry=registry)
    _worker_server_started = True
    bound = server.server_address[1]
    logger.info("worker metrics on port %s", bound, extra={"metrics_port": bound})
    return bound
