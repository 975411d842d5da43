"""Data export: a Celery job builds a zip of JSON files of everything the caller owns; the link is theirs only."""
import io
import json
import zipfile
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import api_key_create
from billing.services import credit_grant
from community.models import ForumCategory
from community.services import thread_create
from privacy.models import DataExport, ExportStatus
from privacy.services import exports_expire
from tests.conftest import key_client
from tests.factories import UserFactory

from .conftest import finished

pytestmark = pytest.mark.django_db


def _start(client, django_capture_on_commit_callbacks) -> dict:
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post("/api/v1/me/export/")
    assert started.status_code == 202, started.content
    return started.json()


@pytest.fixture
def owner_data(app, caller):
    """The caller's things, and another user's, which must not appear in the caller's export."""
    finished(app, caller, text="caller's own words", output={"text": "caller's answer"})
    other = UserFactory(username="someone-else")
    finished(app, other, text="another user's words")
    credit_grant(user=caller, amount=Decimal("3.50"), memo="caller grant", granted_by=None)
    credit_grant(user=other, amount=Decimal("9.00"), memo="other grant", granted_by=None)
    category, _ = ForumCategory.objects.get_or_create(slug="general", defaults={"name": "General"})
    thread_create(author=caller, category=category, title="Caller's thread", body="Caller's forum words.",
                  kind="discussion")
    thread_create(author=other, category=category, title="Other thread", body="Other forum words.",
                  kind="discussion")
    created = api_key_create(user=caller, name="caller key", scopes=["read"])
    return {"other": other, "raw_key": created.raw_key}


def test_export_contents_are_the_callers_and_only_the_callers(caller, owner_data, eager,
                                                               django_capture_on_commit_callbacks):
    client = key_client(caller, scopes=("read",))
    started = _start(client, django_capture_on_commit_callbacks)
    status = client.get("/api/v1/me/export/").json()
    assert status["id"] == started["id"] and status["status"] == "ready" and status["download_url"]
    download = client.get(status["download_url"])
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    assert "no-store" in download["Cache-Control"]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    names = set(archive.namelist())
    assert {"profile.json", "apps.json", "versions.json", "predictions.json", "ledger.json", "api_keys.json",
            "forum_posts.json", "forum_threads.json", "webhook_deliveries.json", "manifest.json"} <= names
    files = {name: json.loads(archive.read(name)) for name in names}
    assert files["profile.json"]["email"] == caller.email
    assert [p["input"] for p in files["predictions.json"]] == [{"text": "caller's own words"}]  # decrypted
    assert files["predictions.json"][0]["output"] == {"text": "caller's answer"}
    assert files["ledger.json"]["wallet"]["balance"] == "3.500000"
    assert any(entry["memo"] == "caller grant" for entry in files["ledger.json"]["entries"])
    assert [post["body"] for post in files["forum_posts.json"]] == ["Caller's forum words."]
    assert {key["name"] for key in files["api_keys.json"]} >= {"caller key"}
    everything = b"".join(archive.read(name) for name in names).decode()
    for foreign in ("another user's words", "other grant", "Other forum words", "someone-else"):
        assert foreign not in everything
    secret = owner_data["raw_key"].split("_")[2]
    assert secret not in everything and "hashed_key" not in everything


def test_the_link_is_404_for_another_user_anonymous_401_and_404_after_expiry(caller, owner_data, eager,
                                                                               django_capture_on_commit_callbacks):
    client = APIClient()
    client.force_authenticate(caller)
    _start(client, django_capture_on_commit_callbacks)
    url = client.get("/api/v1/me/export/").json()["download_url"]
    other = APIClient()
    other.force_authenticate(owner_data["other"])
    assert other.get(url).status_code == 404
    assert other.get(url).json()["error"]["code"] == "not_found"
    assert APIClient().get(url).status_code == 401
    assert other.get("/api/v1/me/export/").status_code == 404  # the other user has no export of their own
    export = DataExport.objects.get(user=caller)
    DataExport.objects.filter(pk=export.pk).update(expires_at=timezone.now() - timezone.timedelta(seconds=1))
    assert client.get(url).status_code == 404
    assert client.get("/api/v1/me/export/").json()["status"] == "expired"
    assert exports_expire() == 1
    export.refresh_from_db()
    assert export.status == ExportStatus.EXPIRED and not export.file
    assert client.get(url).status_code == 404


def test_a_second_request_while_one_is_running_answers_the_same_export(caller):
    client = APIClient()
    client.force_authenticate(caller)
    first = client.post("/api/v1/me/export/").json()  # not run: no commit in this test
    assert first["status"] == "queued" and first["download_url"] is None
    assert client.post("/api/v1/me/export/").json()["id"] == first["id"]
    assert DataExport.objects.filter(user=caller).count() == 1


def test_the_settings_page_starts_an_export_and_links_the_download(client, caller, eager,
                                                                    django_capture_on_commit_callbacks):
    client.force_login(caller)
    page = client.get("/settings/privacy/").content.decode()
    assert 'id="export-start"' in page and 'id="delete-account-button"' in page and "js/privacy.js" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/settings/privacy/export/")
    assert response.status_code == 302
    page = client.get("/settings/privacy/").content.decode()
    assert 'id="export-download"' in page
    export = DataExport.objects.get(user=caller)
    download = client.get(f"/api/v1/me/export/{export.pk}/download/")
    assert download.status_code == 200
