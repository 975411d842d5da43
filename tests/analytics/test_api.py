"""GET /api/v1/apps/{slug}/usage/: the app's owners only, the shape of shared/API.md, `days` validated."""
import datetime as dt
from decimal import Decimal

import pytest
import yaml
from django.utils import timezone
from rest_framework.test import APIClient

from analytics import services
from marketplace.models import AppStatus
from tests.conftest import key_client
from tests.factories import AppFactory, DeveloperFactory, ModeratorFactory, UserFactory

from .conftest import call, ledger_by_app_day

pytestmark = pytest.mark.django_db
DAY_KEYS = {"date", "calls", "errors", "unique_callers", "p50_ms", "p95_ms", "revenue", "cost"}


def _url(app, days=None) -> str:
    return f"/api/v1/apps/{app.slug}/usage/" + (f"?days={days}" if days is not None else "")


def test_the_owner_gets_the_days_and_totals_in_the_documented_shape(owner, paid_app, buyers):
    now = timezone.now()
    today = timezone.localdate()
    call(buyers[0], paid_app, when=now, latency_ms=300)
    call(buyers[1], paid_app, when=now, latency_ms=100)
    call(buyers[1], paid_app, when=now, status="failed")
    services.usage_rollup(start=today - dt.timedelta(days=6), end=today)

    response = key_client(owner).get(_url(paid_app, 7))

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"days", "totals"}
    assert len(body["days"]) == 7
    assert [day["date"] for day in body["days"]] == [
        (today - dt.timedelta(days=6 - i)).isoformat() for i in range(7)]
    assert all(set(day) == DAY_KEYS for day in body["days"])
    assert set(body["totals"]) == DAY_KEYS - {"date"}
    last = body["days"][-1]
    revenue, cost = ledger_by_app_day()[(paid_app.pk, today)]
    assert (last["calls"], last["errors"], last["unique_callers"]) == (3, 1, 2)
    assert (last["p50_ms"], last["p95_ms"]) == (100, 300)
    assert (last["revenue"], last["cost"]) == (f"{revenue:.6f}", f"{cost:.6f}")  # money as 6-place strings
    assert Decimal(last["revenue"]) > 0
    first = body["days"][0]
    assert (first["calls"], first["p50_ms"], first["revenue"]) == (0, None, "0.000000")
    totals = body["totals"]
    assert (totals["calls"], totals["errors"], totals["unique_callers"]) == (3, 1, 2)
    assert (totals["p50_ms"], totals["p95_ms"]) == (100, 300)
    assert (totals["revenue"], totals["cost"]) == (last["revenue"], last["cost"])


def test_days_defaults_to_30():
    owner = DeveloperFactory()
    app = AppFactory(owner=owner)
    client = APIClient()
    client.force_authenticate(owner)
    body = client.get(_url(app)).json()
    assert len(body["days"]) == 30 and body["days"][-1]["date"] == timezone.localdate().isoformat()
    assert body["totals"] == {"calls": 0, "errors": 0, "unique_callers": 0, "p50_ms": None, "p95_ms": None,
                              "revenue": "0.000000", "cost": "0.000000"}


@pytest.mark.parametrize("status", [AppStatus.PUBLISHED, AppStatus.DRAFT, AppStatus.SUSPENDED])
def test_only_the_owner_may_read_it_anyone_else_gets_404(status):
    owner = DeveloperFactory()
    app = AppFactory(owner=owner, status=status)
    assert key_client(owner).get(_url(app)).status_code == 200
    for other in (UserFactory(), DeveloperFactory(), ModeratorFactory()):
        response = key_client(other).get(_url(app))
        assert response.status_code == 404, (status, other)
        assert response.json()["error"]["code"] == "not_found"
    assert key_client(owner).get("/api/v1/apps/no-such-app/usage/").status_code == 404


def test_anonymous_callers_get_401_and_a_key_without_read_scope_403():
    app = AppFactory()
    response = APIClient().get(_url(app))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert key_client(app.owner, scopes=("predict",)).get(_url(app)).status_code == 403


@pytest.mark.parametrize("days", ["0", "366", "-3", "abc", "1.5"])
def test_a_bad_days_answers_400_with_the_field(days):
    app = AppFactory()
    response = key_client(app.owner).get(f"/api/v1/apps/{app.slug}/usage/?days={days}")
    assert response.status_code == 400, days
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["fields"]["days"] == ["days must be a whole number from 1 to 365."]
    assert error["message"] == "days must be a whole number from 1 to 365."


@pytest.mark.parametrize("days", ["1", "365"])
def test_the_bounds_of_days_are_accepted(days):
    app = AppFactory()
    response = key_client(app.owner).get(_url(app, days))
    assert response.status_code == 200 and len(response.json()["days"]) == int(days)


def test_the_schema_documents_it_with_an_operation_id_and_tag():
    schema = yaml.safe_load(APIClient().get("/api/schema/").content)
    operation = schema["paths"]["/api/v1/apps/{slug}/usage/"]["get"]
    assert operation["operationId"] == "apps_usage_retrieve"
    assert operation["tags"] == ["marketplace"]
    assert {"200", "400", "401", "403", "404"} <= set(operation["responses"])
    assert any(p["name"] == "days" and p["in"] == "query" for p in operation["parameters"])
