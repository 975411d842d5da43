"""A real Celery worker process, on the configured broker, answers and shows up in /healthz."""
import pytest


@pytest.fixture
def staff_user(db):
    from tests.factories import UserFactory

    return UserFactory(is_staff=True)


@pytest.mark.integration
def test_real_worker_is_seen_by_healthz(celery_worker, client, staff_user):
    import time

    client.force_login(staff_user)
    deadline = time.monotonic() + 30
    body = client.get("/healthz").json()
    while not body["workers"]["ok"] and time.monotonic() < deadline:  # its first heartbeat is on its way
        time.sleep(0.2)
        body = client.get("/healthz").json()
    assert body["workers"]["ok"] is True, body
    assert body["status"] == "ok"
