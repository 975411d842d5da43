"""Org API keys: calls are admitted against and charged to the org's wallet, with per-key and per-member caps."""
from decimal import Decimal as D

import pytest

from accounts.models import Membership
from accounts.org_services import org_create
from accounts.services import api_key_create
from billing import selectors, services
from billing.models import Charge, Entry
from config.errors import PaymentRequired, PermissionDenied
from tests.billing.conftest import admit, finish, fund
from tests.conftest import key_client
from tests.factories import AppVersionFactory, PaidAppFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    app = PaidAppFactory(base_price=D("1"), k=D("0"), max_price=D("1"))
    AppVersionFactory(app=app, status="ready")
    owner, member = UserFactory(), UserFactory()
    org = org_create(user=owner, name="Acme")
    Membership.objects.create(org=org, user=member, role="member")
    services.org_credit_grant(org=org, amount="3", memo="seed", granted_by=None)
    return app, org, owner, member


def _key(user, org, **kwargs):
    return api_key_create(user=user, name="org key", scopes=["predict"], org=org, **kwargs).api_key


def test_an_org_key_charges_the_org_wallet(world):
    app, org, owner, member = world
    fund(member, "10")
    key = _key(member, org)
    prediction = admit(member, app, api_key=key)
    assert Charge.objects.get().org_id == org.pk
    assert selectors.org_balance(org=org) == (D("2"), D("1"))
    assert selectors.user_balance(user=member) == D("10")  # the member's own wallet is untouched
    finish(prediction)
    assert selectors.org_balance(org=org) == (D("2"), D("0"))
    assert selectors.user_balance(user=member) == D("10")
    assert sum(e.amount for e in selectors.org_ledger(org=org)) == D("-2")
    # A failed call releases the org's hold.
    finish(admit(member, app, api_key=key), ok=False)
    assert selectors.org_balance(org=org) == (D("2"), D("0"))
    # The worker's batch path pays from the org wallet too.
    batch = [admit(member, app, api_key=key) for _ in range(2)]
    for prediction in batch:
        prediction.compute_seconds = D("1")
    services.predictions_finish_batch(succeeded=batch[:1], failed=batch[1:])
    assert selectors.org_balance(org=org) == (D("1"), D("0"))
    report = selectors.ledger_check()
    assert report.ok, report.problems
    assert not Entry.objects.filter(account__user=member, account__kind="wallet", amount__gt=0).exists()


def test_insufficient_org_funds_and_caps(world):
    app, org, owner, member = world
    capped = _key(member, org, spend_cap=D("1"))
    admit(member, app, api_key=capped)
    with pytest.raises(PaymentRequired) as exc:
        admit(member, app, api_key=capped)
    assert exc.value.code == "spend_cap_reached"
    Membership.objects.filter(user=member).update(spend_cap=D("1"))
    with pytest.raises(PaymentRequired) as exc:
        admit(member, app, api_key=_key(member, org))
    assert exc.value.code == "member_cap_reached"
    owner_key = _key(owner, org)
    admit(owner, app, api_key=owner_key)
    admit(owner, app, api_key=owner_key)
    with pytest.raises(PaymentRequired) as exc:
        admit(owner, app, api_key=owner_key)
    assert exc.value.code == "insufficient_funds"
    assert selectors.org_balance(org=org) == (D("0"), D("3"))
    assert selectors.ledger_check().ok


def test_a_removed_member_cannot_spend_with_an_old_org_key(world):
    app, org, owner, member = world
    key = _key(member, org)
    Membership.objects.filter(user=member).delete()
    with pytest.raises(PermissionDenied):
        admit(member, app, api_key=key)
    assert selectors.org_balance(org=org) == (D("3"), D("0"))


def test_keys_api_takes_org_and_spend_cap(world):
    app, org, owner, member = world
    client = key_client(member)
    response = client.post("/api/v1/keys/", {"name": "team", "scopes": ["predict"], "org": org.slug,
                                             "spend_cap": "0.5"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["org"] == org.slug and response.json()["spend_cap"] == "0.500000"
    listed = client.get("/api/v1/keys/").json()["results"]
    assert {k["org"] for k in listed} == {None, org.slug}
    outsider = key_client(UserFactory())
    assert outsider.post("/api/v1/keys/", {"name": "x", "scopes": ["predict"], "org": org.slug},
                         format="json").status_code == 404
    # An org key cannot mint a personal key (nor another org's).
    org_key = api_key_create(user=member, name="org", scopes=["publish", "predict"], org=org)
    from rest_framework.test import APIClient

    via_org = APIClient()
    via_org.credentials(HTTP_AUTHORIZATION=f"Bearer {org_key.raw_key}")
    assert via_org.post("/api/v1/keys/", {"name": "mine", "scopes": ["predict"]},
                        format="json").status_code == 403
    assert via_org.post("/api/v1/keys/", {"name": "same org", "scopes": ["predict"], "org": org.slug},
                        format="json").status_code == 201
