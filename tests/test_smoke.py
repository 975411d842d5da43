"""The platform starts: pages, schema and health answer on whatever database is configured."""
import pytest


@pytest.fixture
def staff_user(db):
    from tests.factories import UserFactory

    return UserFactory(is_staff=True)


@pytest.mark.django_db
def test_store_pages_and_api_docs_answer(client):
    for url in ("/", "/apps/", "/search/?q=model", "/c/games/", "/api/schema/", "/api/docs/", "/accounts/login/"):
        assert client.get(url).status_code == 200, url


@pytest.mark.django_db
def test_healthz_reports_database_and_broker(client, staff_user, django_assert_max_num_queries):
    """Anonymous callers see only the status; staff see the details. One query, no worker round trip."""
    with django_assert_max_num_queries(1):
        anonymous = client.get("/healthz")
    assert anonymous.status_code == 200 and set(anonymous.json()) == {"status"}
    assert anonymous.json()["status"] in ("ok", "degraded")
    client.force_login(staff_user)
    body = client.get("/healthz").json()
    assert body["database"]["ok"] is True
    assert body["broker"]["ok"] is True
    assert "workers" in body


@pytest.mark.django_db
def test_healthz_reads_worker_heartbeats(client, staff_user):
    from django.utils import timezone

    from inference.worker.lifecycle import worker_gone, worker_heartbeat

    client.force_login(staff_user)
    worker_heartbeat(hostname="cpu@box", queues=["inference-cpu"], devices=["cpu"])
    body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["workers"]["alive"] == ["cpu@box"]
    from inference.models import WorkerHeartbeat

    WorkerHeartbeat.objects.filter(hostname="cpu@box").update(last_seen=timezone.now() - timezone.timedelta(hours=1))
    assert client.get("/healthz").json()["status"] == "degraded"
    worker_gone(hostname="cpu@box")
    assert client.get("/healthz").json()["workers"]["alive"] == []


def test_production_refuses_to_start_without_secret_key():
    import os
    import subprocess
    import sys

    env = {**os.environ, "DEBUG": "False", "SECRET_KEY": ""}
    result = subprocess.run([sys.executable, "-c", "import django, os; os.environ['DJANGO_SETTINGS_MODULE']="
                             "'config.settings'; django.setup()"], env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr
