"""The platform starts: pages, schema and health answer on whatever database is configured."""
import pytest


@pytest.mark.django_db
def test_store_pages_and_api_docs_answer(client):
    for url in ("/", "/apps/", "/search/?q=model", "/c/games/", "/api/schema/", "/api/docs/", "/accounts/login/"):
        assert client.get(url).status_code == 200, url


@pytest.mark.django_db
def test_healthz_reports_database_and_broker(client):
    body = client.get("/healthz").json()
    assert body["database"]["ok"] is True
    assert body["broker"]["ok"] is True
    assert "workers" in body


def test_production_refuses_to_start_without_secret_key():
    import os
    import subprocess
    import sys

    env = {**os.environ, "DEBUG": "False", "SECRET_KEY": ""}
    result = subprocess.run([sys.executable, "-c", "import django, os; os.environ['DJANGO_SETTINGS_MODULE']="
                             "'config.settings'; django.setup()"], env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr
