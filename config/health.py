"""`GET /healthz`: the database, the broker and whether a worker answers."""
from django.db import connection
from django.http import JsonResponse


def _check_database() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True, connection.vendor
    except Exception as exc:  # noqa: BLE001 - a health check reports, it does not raise
        return False, str(exc)


def _check_broker_and_workers() -> tuple[bool, str, list[str]]:
    from config.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            transport = conn.transport_cls if isinstance(conn.transport_cls, str) else conn.transport.driver_name
    except Exception as exc:  # noqa: BLE001
        return False, str(exc), []
    try:
        replies = app.control.ping(timeout=1.0) or []
    except Exception:  # noqa: BLE001
        replies = []
    workers = sorted(name for reply in replies for name in reply)
    return True, str(transport), workers


def healthz(request):
    db_ok, db_info = _check_database()
    broker_ok, broker_info, workers = _check_broker_and_workers()
    healthy = db_ok and broker_ok
    body = {
        "status": "ok" if healthy and workers else ("degraded" if healthy else "down"),
        "database": {"ok": db_ok, "detail": db_info},
        "broker": {"ok": broker_ok, "detail": broker_info},
        "workers": {"ok": bool(workers), "alive": workers},
    }
    return JsonResponse(body, status=200 if healthy else 503)
