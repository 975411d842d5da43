"""The console's usage dashboard (owners only), its date range and CSV export, and the moderators' platform page."""
import csv
import datetime as dt
import io
import re

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from analytics import services
from analytics.models import DailyUsage
from tests.factories import AppFactory, DeveloperFactory, ModeratorFactory, UserFactory

from .conftest import call, moment

pytestmark = pytest.mark.django_db
DAY1, DAY2 = dt.date(2026, 3, 30), dt.date(2026, 3, 31)
PLATFORM = "/admin/analytics/platformusagereport/"
PLATFORM_CSV = "/admin/analytics/platformusagereport/csv/"


def _usage_url(app) -> str:
    return reverse("analytics:app_usage", kwargs={"slug": app.slug})


def _csv_url(app) -> str:
    return reverse("analytics:app_usage_csv", kwargs={"slug": app.slug})


def _dashboard_markup(html: str) -> str:
    start = html.index('<div class="usage">')
    return html[start:html.index("</main>")]


@pytest.fixture
def activity(owner, paid_app, free_app, buyers):
    call(buyers[0], paid_app, when=moment(DAY1, 9), latency_ms=250)
    call(buyers[1], paid_app, when=moment(DAY1, 10), status="failed")
    call(buyers[1], paid_app, when=moment(DAY2, 9), latency_ms=150)
    call(buyers[0], free_app, when=moment(DAY2, 11))
    services.usage_rollup(start=DAY1, end=DAY2)


def test_the_owner_sees_charts_cards_and_a_row_per_day(client_for, owner, paid_app, activity):
    response = client_for(owner).get(_usage_url(paid_app), {"from": DAY1.isoformat(), "to": DAY2.isoformat()})
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('<svg class="usage-chart') == 4
    assert "usage-chart-bar" in html and "usage-chart-line" in html
    assert '<link rel="stylesheet" href="/static/analytics/usage.css">' in html
    dashboard = _dashboard_markup(html)
    assert "style=" not in dashboard and "<style" not in dashboard and "<script" not in dashboard
    assert re.findall(r'<tr data-date="([\d-]+)">', dashboard) == [DAY2.isoformat(), DAY1.isoformat()]
    assert 'id="total-calls">3<' in dashboard and 'id="total-errors">1<' in dashboard
    assert 'id="total-callers">2<' in dashboard
    assert f'href="{_csv_url(paid_app)}?from={DAY1.isoformat()}&amp;to={DAY2.isoformat()}"' in dashboard


def test_the_date_range_defaults_to_30_days_and_rejects_a_reversed_range(client_for, owner, paid_app):
    html = client_for(owner).get(_usage_url(paid_app)).content.decode()
    assert len(re.findall(r'<tr data-date="', html)) == 30
    response = client_for(owner).get(_usage_url(paid_app), {"from": DAY2.isoformat(), "to": DAY1.isoformat()})
    assert response.status_code == 400
    assert "The start date must not be after the end date." in response.content.decode()
    assert client_for(owner).get(_usage_url(paid_app), {"from": "2020-01-01", "to": "2026-01-01"}).status_code == 400
    assert client_for(owner).get(_usage_url(paid_app), {"from": "yesterday"}).status_code == 400


def test_the_csv_has_the_same_rows(client_for, owner, paid_app, activity):
    response = client_for(owner).get(_csv_url(paid_app), {"from": DAY1.isoformat(), "to": DAY2.isoformat()})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert f'filename="paid-app-usage-{DAY1}-{DAY2}.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [row["date"] for row in rows] == [DAY1.isoformat(), DAY2.isoformat()]
    for row in rows:
        stored = DailyUsage.objects.get(app=paid_app, day=row["date"])
        assert (int(row["calls"]), int(row["errors"]), int(row["unique_callers"])) == (
            stored.calls, stored.errors, stored.unique_callers)
        assert (row["revenue"], row["cost"], row["margin"]) == (
            str(stored.revenue), str(stored.cost), str(stored.revenue - stored.cost))
        assert row["p50_ms"] == str(stored.p50_ms)
    assert (rows[0]["calls"], rows[0]["errors"], rows[0]["p50_ms"]) == ("2", "1", "250")
    bad = client_for(owner).get(_csv_url(paid_app), {"from": DAY2.isoformat(), "to": DAY1.isoformat()})
    assert bad.status_code == 400


def test_only_the_owner_may_open_the_dashboard_or_its_csv(client_for):
    app = AppFactory(owner=DeveloperFactory())
    for url in (_usage_url(app), _csv_url(app)):
        anonymous = client_for().get(url)
        assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
        for other in (UserFactory(), DeveloperFactory(), ModeratorFactory()):
            assert client_for(other).get(url).status_code == 404
        assert client_for(app.owner).get(url).status_code == 200


def test_the_console_links_to_each_apps_dashboard(client_for, owner, paid_app):
    html = client_for(owner).get(reverse("marketplace:console")).content.decode()
    assert f'href="{_usage_url(paid_app)}"' in html


def test_the_dashboard_speaks_chinese(client_for, owner, paid_app):
    client = client_for(owner)
    client.cookies["django_language"] = "zh-hans"
    html = client.get(_usage_url(paid_app)).content.decode()
    for text in ("用量与收入", "导出 CSV", "调用", "独立调用者", "毛利"):
        assert text in html, text


def test_moderators_see_the_platform_dashboard_and_csv(client_for, owner, paid_app, activity):
    moderator = ModeratorFactory()
    response = client_for(moderator).get(PLATFORM, {"from": DAY1.isoformat(), "to": DAY2.isoformat()})
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('<svg class="usage-chart') == 4
    assert 'id="total-calls">4<' in html and 'id="economics-link"' in html
    dashboard = _dashboard_markup(html)
    assert "style=" not in dashboard and "<style" not in dashboard and "<script" not in dashboard
    rows = list(csv.DictReader(io.StringIO(client_for(moderator).get(
        PLATFORM_CSV, {"from": DAY1.isoformat(), "to": DAY2.isoformat()}).content.decode())))
    assert [(row["date"], row["calls"]) for row in rows] == [(DAY1.isoformat(), "2"), (DAY2.isoformat(), "2")]
    for row in rows:
        stored = DailyUsage.objects.get(app__isnull=True, day=row["date"])
        assert (row["revenue"], row["cost"]) == (str(stored.revenue), str(stored.cost))


def test_the_platform_dashboard_needs_staff(client_for):
    for url in (PLATFORM, PLATFORM_CSV):
        assert client_for().get(url).status_code == 302
        assert client_for(UserFactory()).get(url).status_code == 302  # not staff: the admin's login page
        staff = UserFactory(is_staff=True)
        assert client_for(staff).get(url).status_code == 403        # staff, but not a moderator
        staff.user_permissions.add(Permission.objects.get(codename="view_transaction",
                                                          content_type__app_label="billing"))
        assert client_for(staff).get(url).status_code == 200        # staff who may read the books
        assert client_for(UserFactory(is_staff=True, is_superuser=True)).get(url).status_code == 200
        assert client_for(ModeratorFactory()).get(url).status_code == 200


def test_the_admin_index_lists_it_for_moderators(client_for):
    html = client_for(ModeratorFactory()).get("/admin/").content.decode()
    assert PLATFORM in html
