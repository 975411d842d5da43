"""`POST /api/v1/apps/` takes `org`: the org owns the app and its earnings (its developer share)."""
from decimal import Decimal as D

import pytest

from accounts.models import Membership
from accounts.org_services import org_create
from billing import selectors
from marketplace.models import App, AppStatus
from tests.billing.conftest import admit, finish, fund
from tests.conftest import key_client
from tests.factories import AppVersionFactory, DeveloperFactory, UserFactory, category

pytestmark = pytest.mark.django_db


def _create(client, org=None):
    body = {"name": "Team App", "tagline": "Made by a team", "category": category("games").slug}
    if org is not None:
        body["org"] = org
    return client.post("/api/v1/apps/", body, format="json")


def test_roles_decide_who_publishes_for_the_org():
    owner, dev, member = DeveloperFactory(), DeveloperFactory(), DeveloperFactory()
    org = org_create(user=owner, name="Acme")
    Membership.objects.create(org=org, user=dev, role="developer")
    Membership.objects.create(org=org, user=member, role="member")
    response = _create(key_client(dev), org.slug)
    assert response.status_code == 201, response.content
    assert App.objects.get(slug=response.json()["slug"]).org == org
    assert _create(key_client(member), org.slug).status_code == 403
    assert _create(key_client(DeveloperFactory()), org.slug).status_code == 404
    assert App.objects.get(slug=_create(key_client(dev)).json()["slug"]).org is None


def test_an_org_app_earns_for_the_org():
    owner = DeveloperFactory()
    org = org_create(user=owner, name="Acme")
    app = App.objects.get(slug=_create(key_client(owner), org.slug).json()["slug"])
    App.objects.filter(pk=app.pk).update(status=AppStatus.PUBLISHED, pricing_model="per_call", base_price=D("1"),
                                         k=D("0"), max_price=D("1"))
    app.refresh_from_db()
    AppVersionFactory(app=app, status="ready")
    caller = UserFactory()
    fund(caller, "5")
    finish(admit(caller, app))
    assert selectors.org_earnings(org=org) > 0
    assert selectors.developer_earnings(user=owner) == 0
    report = selectors.ledger_check()
    assert report.ok, report.problems
