"""The org wallet: moderator grants to an org, the balance by role, and the ledger still balanced."""
from decimal import Decimal as D

import pytest
from rest_framework.test import APIClient

from accounts.models import Membership
from accounts.org_services import org_create
from billing import selectors
from billing.models import Account, AccountKind, OrgWallet
from tests.conftest import key_client
from tests.factories import ModeratorFactory, UserFactory

pytestmark = pytest.mark.django_db

ROLES = ("owner", "admin", "developer", "billing", "member", "outsider")
BALANCE = (200, 200, 403, 200, 403, 404)


@pytest.fixture
def org_world():
    owner = UserFactory()
    org = org_create(user=owner, name="Acme")
    users = {"owner": owner, "outsider": UserFactory()}
    for role in ROLES[1:-1]:
        users[role] = UserFactory()
        Membership.objects.create(org=org, user=users[role], role=role)
    return org, users


def _grant(payload):
    client = APIClient()
    client.force_authenticate(ModeratorFactory())
    return client.post("/api/v1/billing/grants/", payload, format="json")


def test_moderator_grants_to_an_org_and_the_ledger_balances(org_world):
    org, users = org_world
    response = _grant({"org": org.slug, "amount": "7.5", "memo": "Team launch"})
    assert response.status_code == 201, response.content
    assert response.json()["org"] == org.slug and response.json()["user"] is None
    assert selectors.org_balance(org=org) == (D("7.5"), D("0"))
    assert OrgWallet.objects.get(org=org).balance == D("7.5")
    # The org's wallet account is its own: nobody's personal wallet moved.
    assert Account.objects.get(kind=AccountKind.WALLET, org=org).user_id is None
    assert selectors.user_balance(user=users["owner"]) == D("0")
    report = selectors.ledger_check()
    assert report.ok, report.problems
    assert [e.amount for e in selectors.org_ledger(org=org)] == [D("-7.5")]


def test_grant_input(org_world):
    org, users = org_world
    assert _grant({"org": "nope", "amount": "1", "memo": "x"}).json()["error"]["fields"]["org"]
    assert _grant({"amount": "1", "memo": "x"}).status_code == 400
    assert _grant({"org": org.slug, "user": users["owner"].email, "amount": "1", "memo": "x"}).status_code == 400
    assert _grant({"org": org.slug, "amount": "-1", "memo": "x"}).status_code == 400
    everyday = key_client(users["owner"])
    assert everyday.post("/api/v1/billing/grants/", {"org": org.slug, "amount": "1", "memo": "x"},
                         format="json").status_code == 403


@pytest.mark.parametrize("role", ROLES)
def test_org_balance_by_role(org_world, role):
    org, users = org_world
    _grant({"org": org.slug, "amount": "3", "memo": "seed"})
    response = key_client(users[role]).get(f"/api/v1/billing/balance/?org={org.slug}")
    assert response.status_code == BALANCE[ROLES.index(role)], response.content
    if response.status_code == 200:
        assert response.json()["balance"] == "3.000000" and response.json()["held"] == "0.000000"
    else:
        assert response.json()["error"]["code"]
