"""Request ids, structured logs and the guarded `/metrics` endpoint.

A request id is taken from the caller's `X-Request-ID` (when it looks like one) or made up, answered in the
response header, attached to every log record of the request, and carried in the headers of every Celery task
published while handling it. A worker running that task (and any task it publishes, such as a webhook
delivery) logs with the same id, so one grep follows a prediction from the web request to the webhook.
"""
from __future__ import annotations

import contextvars
import ipaddress
import logging
import re
import secrets
import time
import uuid

from django.conf import settings
from django.http import HttpResponse, HttpResponseForbidden

logger = logging.getLogger("modelmarket.requests")

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
HEADER = "X-Request-ID"
CELERY_HEADER = "request_id"
_VALID = re.compile(r"^[A-Za-z0-9._:-]{8,80}$")


def new_request_id() -> str:
    return uuid.uuid4().hex


def current_request_id() -> str:
    return request_id_var.get()


class RequestIdFilter(logging.Filter):
    """Puts `request_id` (maybe empty) on every record, for the JSON formatter and for `%(request_id)s`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", ""):
            record.request_id = request_id_var.get()
        return True


def json_formatter(*args, **kwargs):
    """python-json-logger with the field names log pipelines expect (`timestamp`, `level`, `logger`)."""
    from pythonjsonlogger.json import JsonFormatter

    return JsonFormatter(
        "{asctime}{levelname}{name}{message}{request_id}{process}{threadName}", style="{",
        rename_fields={"asctime": "timestamp", "levelname": "level", "name": "logger", "threadName": "thread"},
        datefmt="%Y-%m-%dT%H:%M:%S%z",
    )


class RequestIdMiddleware:
    """Outermost middleware: sets the request id, answers it, logs one line per request and records its metrics."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get(HEADER, "")
        request_id = incoming if _VALID.match(incoming) else new_request_id()
        token = request_id_var.set(request_id)
        request.request_id = request_id
        started = time.perf_counter()
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        elapsed = time.perf_counter() - started
        response[HEADER] = request_id
        route = _route(request)
        if route not in _QUIET_ROUTES:
            from config.metrics import record_http_request

            record_http_request(method=request.method, route=route, status=response.status_code, seconds=elapsed)
            logger.info("%s %s %s", request.method, request.path, response.status_code, extra={
                "request_id": request_id, "method": request.method, "path": request.path, "route": route,
                "status": response.status_code, "duration_ms": round(elapsed * 1000, 1)})
        return response


_QUIET_ROUTES = {"livez", "readyz", "metrics"}


def _route(request) -> str:
    """The URL pattern's name (bounded label values), never the raw path."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    return match.view_name or match.route or "unnamed"


# --- /metrics -------------------------------------------------------------------------------------------

def _client_allowed(request) -> bool:
    token = settings.METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if given and secrets.compare_digest(given, token):
            return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(network, strict=False) for network in settings.METRICS_ALLOWED_NETWORKS)


def metrics_view(request):
    """Prometheus exposition; readable with `Authorization: Bearer $METRICS_TOKEN` or from METRICS_ALLOWED_NETWORKS."""
    if not _client_allowed(request):
        return HttpResponseForbidden("metrics need a token or an allowed network\n", content_type="text/plain")
    from prometheus_client import CONTENT_TYPE_LATEST

    from config.metrics_collectors import render

    return HttpResponse(render(), content_type=CONTENT_TYPE_LATEST)


# --- Celery: carry the request id into tasks, and log each task's outcome with it ------------------------------

def connect_celery_signals() -> None:
    from celery import signals

    signals.before_task_publish.connect(_add_request_id_header, weak=False)
    signals.task_prerun.connect(_task_started, weak=False)
    signals.task_postrun.connect(_task_finished, weak=False)
    signals.worker_ready.connect(_worker_ready, weak=False)


def _add_request_id_header(sender=None, headers=None, **kwargs) -> None:
    request_id = request_id_var.get()
    if request_id and headers is not None and CELERY_HEADER not in headers:
        headers[CELERY_HEADER] = request_id


_task_tokens: dict[str, tuple[contextvars.Token, float]] = {}
task_logger = logging.getLogger("modelmarket.tasks")


def _task_started(sender=None, task_id=None, task=None, args=None, **kwargs) -> None:
    request_id = getattr(task.request, CELERY_HEADER, None) or (task.request.headers or {}).get(CELERY_HEADER) or ""
    if not request_id:  # an eager task runs inside the request that queued it; else a fresh id per task
        request_id = request_id_var.get() or new_request_id()
    _task_tokens[task_id] = (request_id_var.set(request_id), time.perf_counter())


def _task_finished(sender=None, task_id=None, task=None, args=None, state=None, **kwargs) -> None:
    token, started = _task_tokens.pop(task_id, (None, time.perf_counter()))
    task_logger.info("task %s %s", getattr(task, "name", sender), state, extra={
        "task": getattr(task, "name", ""), "task_id": task_id, "state": state, "task_args": list(args or [])[:3],
        "duration_ms": round((time.perf_counter() - started) * 1000, 1)})
    if token is not None:
        try:
            request_id_var.reset(token)
        except ValueError:  # set in another context (a different thread): just clear it
            request_id_var.set("")


def _worker_ready(sender=None, **kwargs) -> None:
    from config.metrics import start_worker_metrics_server

    try:
        start_worker_metrics_server()
    except OSError:
        logging.getLogger(__name__).warning("worker metrics port not available", exc_info=True)
    from config.lifecycle import start_worker_alive_file

    start_worker_alive_file(sender)
