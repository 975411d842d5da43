"""A real Celery worker process, on the configured broker, answers and shows up in /healthz."""
import pytest


@pytest.mark.integration
def test_real_worker_is_seen_by_healthz(celery_worker, client):
    body = client.get("/healthz").json()
    assert body["workers"]["ok"] is True, body
    assert body["status"] == "ok"
