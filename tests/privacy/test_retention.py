"""`retention_days` per app: a beat task erases inputs and outputs past it; prices, metrics and the ledger stay."""
import pytest
from django.conf import settings as django_settings
from rest_framework.test import APIClient

from inference.models import Prediction
from privacy.services import retention_purge
from privacy.tasks import retention_purge as retention_purge_task
from tests.factories import AppFactory, AppVersionFactory

from .conftest import finished, raw_columns

pytestmark = pytest.mark.django_db


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_a_retention_purge_erases_only_what_is_past_each_apps_retention(app, caller):
    short = AppFactory(retention_days=1)
    AppVersionFactory(app=short, version="1.0.0", status="ready")
    old = finished(short, caller, text="two days old", days_ago=2)
    young = finished(short, caller, text="an hour old", days_ago=0.04)
    kept = finished(app, caller, text="ten days old, app keeps 30", days_ago=10)
    expired = finished(app, caller, text="forty days old", days_ago=40)
    running = Prediction.objects.create(app=app, version=app.versions.get(), user=caller, input={"text": "queued"})

    assert retention_purge() == 2
    for prediction in (old, expired):
        prediction.refresh_from_db()
        assert prediction.data_removed and prediction.input is None and prediction.output is None
        assert raw_columns(prediction) == (None, None)
        assert str(prediction.price) == "0.010000" and prediction.metrics["predict_ms"] == 2.0  # these stay
    for prediction in (young, kept, running):
        prediction.refresh_from_db()
        assert not prediction.data_removed and prediction.input["text"]
    assert retention_purge() == 0  # idempotent

    body = _client(caller).get(f"/api/v1/predictions/{old.pk}/").json()
    assert body["input"] is None and body["output"] is None and body["data_removed"] is True
    assert body["price"] == "0.010000" and body["status"] == "succeeded"


def test_zero_days_erases_at_the_next_purge_and_the_beat_runs_it(app, caller):
    app.retention_days = 0
    app.save(update_fields=["retention_days"])
    prediction = finished(app, caller)
    schedule = django_settings.CELERY_BEAT_SCHEDULE["privacy-retention-purge"]
    assert schedule["task"] == retention_purge_task.name == "privacy.tasks.retention_purge"
    assert retention_purge_task.acks_late
    retention_purge_task.apply()
    prediction.refresh_from_db()
    assert prediction.data_removed


def test_unread_store_false_answers_are_erased_after_the_maximum_anyway(app, caller, settings):
    settings.PRIVACY_UNSTORED_MAX_SECONDS = 3600
    forgotten = finished(app, caller, store=False, days_ago=0.1)
    fresh = finished(app, caller, store=False, days_ago=0.01)
    retention_purge()
    forgotten.refresh_from_db(), fresh.refresh_from_db()
    assert forgotten.data_removed and not fresh.data_removed


def test_retention_days_on_the_api_create_update_and_detail(developer):
    from tests.factories import category

    category("games")
    client = _client(developer)
    created = client.post("/api/v1/apps/", {"name": "Keeper", "tagline": "Keeps little", "category": "games",
                                            "retention_days": 7}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["retention_days"] == 7
    slug = created.json()["slug"]
    assert client.patch(f"/api/v1/apps/{slug}/", {"retention_days": 0}, format="json").json()["retention_days"] == 0
    assert client.get(f"/api/v1/apps/{slug}/").json()["retention_days"] == 0
    refused = client.patch(f"/api/v1/apps/{slug}/", {"retention_days": 366}, format="json")
    assert refused.status_code == 400 and "retention_days" in refused.json()["error"]["fields"]
    default = client.post("/api/v1/apps/", {"name": "Default", "tagline": "Default", "category": "games"},
                          format="json")
    assert default.json()["retention_days"] == 30


def test_the_app_page_says_what_is_stored_for_how_long_and_who_sees_it(client, app):
    app.retention_days = 7
    app.save(update_fields=["retention_days"])
    html = client.get(app.get_absolute_url()).content.decode()
    assert 'id="privacy"' in html and 'data-retention-days="7"' in html
    assert "erased 7 days after the prediction finishes" in html
    assert "Only you" in html and "store" in html


def test_the_app_page_in_chinese(client, app):
    client.cookies["django_language"] = "zh-hans"
    html = client.get(app.get_absolute_url()).content.decode()
    assert "隐私" in html and "30 天" in html


def test_the_console_form_sets_retention(client, developer):
    from tests.factories import category

    app = AppFactory(owner=developer, retention_days=30)
    client.force_login(developer)
    page = client.get(f"/console/apps/{app.slug}/").content.decode()
    assert 'name="retention_days"' in page and 'value="30"' in page
    response = client.post(f"/console/apps/{app.slug}/", {
        "name": app.name, "tagline": app.tagline, "description": "", "category": category().pk, "tags": "",
        "pricing_model": "free", "retention_days": "3"})
    assert response.status_code == 302, response.content.decode()[:2000]
    app.refresh_from_db()
    assert app.retention_days == 3
