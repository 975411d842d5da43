"""Liveness and readiness, for load balancers and Kubernetes probes.

- `GET /livez`: the process answers HTTP. No database, no broker: a dependency being down must not get
  every web pod restarted (that turns a blip into an outage). Kubernetes restarts the pod only when this fails.
- `GET /readyz`: this process can serve traffic now: the database answers and the broker accepts a
  connection. A failing readiness takes the pod out of the Service until it recovers, without a restart.
  The broker check is cached for a few seconds so probes stay cheap.

Workers have no HTTP server of their own (apart from the optional metrics port): with `WORKER_ALIVE_FILE`
set, a worker touches that file every few seconds while its broker connection is up, and the Kubernetes
liveness probe checks the file's age (see deploy/).
"""
from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from django.db import connection
from django.http import JsonResponse

logger = logging.getLogger(__name__)

_BROKER_CACHE_SECONDS = 5.0
_broker_checked: tuple[float, bool, str] = (0.0, False, "")
_broker_lock = threading.Lock()


def livez(request):
    return JsonResponse({"status": "ok"})


def _database_ok() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True, connection.vendor
    except Exception as exc:  # noqa: BLE001 - a probe reports, it does not raise
        return False, type(exc).__name__


def _broker_ok() -> tuple[bool, str]:
    global _broker_checked
    with _broker_lock:
        checked_at, ok, detail = _broker_checked
        if time.monotonic() - checked_at < _BROKER_CACHE_SECONDS:
            return ok, detail
        from config.celery import app

        try:
            with app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=2)
                ok, detail = True, conn.transport.driver_type
        except Exception as exc:  # noqa: BLE001
            ok, detail = False, type(exc).__name__
        _broker_checked = (time.monotonic(), ok, detail)
        return ok, detail


def readyz(request):
    db_ok, db_detail = _database_ok()
    broker_ok, broker_detail = _broker_ok()
    ready = db_ok and broker_ok
    return JsonResponse({"status": "ready" if ready else "not ready",
                         "database": {"ok": db_ok, "detail": db_detail},
                         "broker": {"ok": broker_ok, "detail": broker_detail}}, status=200 if ready else 503)


def start_worker_alive_file(consumer) -> None:
    """Touch `WORKER_ALIVE_FILE` every few seconds while the consumer's broker connection is up."""
    path = os.environ.get("WORKER_ALIVE_FILE", "")
    if not path:
        return
    target = Path(path)

    def touch_while_connected() -> None:
        while True:
            try:
                conn = getattr(consumer, "connection", None)
                if conn is None or conn.connected:
                    target.touch()
            except Exception:  # noqa: BLE001 - a missed touch is what the probe is there to notice
                logger.warning("could not touch %s", target, exc_info=True)
            time.sleep(5)

    threading.Thread(target=touch_while_connected, daemon=True, name="worker-alive-file").start()
