"""`GET /healthz`: fast (one indexed query, one broker round trip), no call into the workers.

Worker liveness comes from the heartbeats each worker refreshes (`inference.tasks`), not from a
blocking `control.ping` on every request. Anonymous callers get `{"status": ...}` only; staff get the
details (database, broker, which workers are alive and what they serve).
"""
import os

from django.conf import settings
from django.http import JsonResponse
from django.utils import timezone


def _workers() -> tuple[bool, str, list[dict]]:
    """Database check and live workers in one query."""
    from django.db import connection

    from inference.models import WorkerHeartbeat
    from inference.selectors import HEARTBEAT_TTL

    try:
        alive = list(WorkerHeartbeat.objects.filter(last_seen__gte=timezone.now() - HEARTBEAT_TTL)
                     .order_by("hostname").values("hostname", "queues", "devices", "last_seen"))
    except Exception as exc:  # noqa: BLE001 - a health check reports, it does not raise
        return False, str(exc)[:300], []
    return True, connection.vendor, alive


def _broker() -> tuple[bool, str]:
    url = settings.CELERY_BROKER_URL or ""
    if url.startswith(("redis://", "rediss://", "redis+socket://")):
        from inference.notify import _redis

        try:
            _redis().ping()
            return True, "redis"
        except Exception as exc:  # noqa: BLE001
            return False, str(exc)[:300]
    if url.startswith("filesystem://"):
        folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("data_folder_in", "")
        try:
            os.makedirs(folder, exist_ok=True)  # the transport makes it on first use; a fresh install has none
        except OSError as exc:
            return False, str(exc)[:300]
        return os.access(folder, os.W_OK), "filesystem"
    return True, url.split("://", 1)[0]


def healthz(request):
    db_ok, db_info, alive = _workers()
    broker_ok, broker_info = _broker()
    healthy = db_ok and broker_ok
    status = "ok" if healthy and alive else ("degraded" if healthy else "down")
    body = {"status": status}
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.is_staff:
        body.update({
            "database": {"ok": db_ok, "detail": db_info},
            "broker": {"ok": broker_ok, "detail": broker_info},
            "workers": {"ok": bool(alive), "alive": [worker["hostname"] for worker in alive],
                        "details": [{**worker, "last_seen": worker["last_seen"].isoformat()} for worker in alive]},
        })
    response = JsonResponse(body, status=200 if healthy else 503)
    response["Cache-Control"] = "no-store"
    return response
