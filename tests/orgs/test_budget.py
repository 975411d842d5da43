"""`GET, PATCH /api/v1/orgs/{slug}/` and the org wallet page's budget form: the org's monthly budget, set by owners
and billing members, is what admission holds calls made with the org's keys to (402 `budget_exceeded`)."""
from decimal import Decimal as D

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import AuditLog, Membership
from accounts.org_services import org_create
from accounts.services import api_key_create
from billing import selectors, services
from billing.models import Charge
from tests.conftest import key_client
from tests.factories import AppVersionFactory, LibraryEntryFactory, PaidAppFactory, UserFactory

pytestmark = pytest.mark.django_db

ROLES = ("owner", "admin", "developer", "billing", "member", "outsider")
READ = (200, 200, 200, 200, 200, 404)
UPDATE = (200, 403, 403, 200, 403, 404)  # budget.set: owner and billing


@pytest.fixture
def org_world():
    owner = UserFactory()
    org = org_create(user=owner, name="Acme")
    users = {"owner": owner, "outsider": UserFactory()}
    for role in ROLES[1:-1]:
        users[role] = UserFactory()
        Membership.objects.create(org=org, user=users[role], role=role)
    return org, users


@pytest.mark.parametrize("role", ROLES)
def test_org_detail_by_role(org_world, role):
    org, users = org_world
    response = key_client(users[role]).get(f"/api/v1/orgs/{org.slug}/")
    assert response.status_code == READ[ROLES.index(role)], response.content
    if response.status_code == 200:
        assert response.json() == {"slug": "acme", "name": "Acme", "role": role, "monthly_budget": None}


@pytest.mark.parametrize("role", ROLES)
def test_org_budget_update_by_role(org_world, role):
    org, users = org_world
    response = key_client(users[role]).patch(f"/api/v1/orgs/{org.slug}/", {"monthly_budget": "25.5"},
                                             format="json")
    assert response.status_code == UPDATE[ROLES.index(role)], response.content
    wallet = selectors.org_wallet_of(org=org)
    if response.status_code == 200:
        assert response.json()["monthly_budget"] == "25.500000" and response.json()["role"] == role
        assert wallet is not None and wallet.monthly_budget == D("25.5")
        assert AuditLog.objects.get(action="billing.org_budget").actor == users[role]
    else:
        assert response.json()["error"]["code"]
        assert wallet is None or wallet.monthly_budget is None


def test_budget_input_and_null_clears(org_world):
    org, users = org_world
    client = key_client(users["billing"])
    url = f"/api/v1/orgs/{org.slug}/"
    for bad in ("-1", "abc", "1.1234567", "1e3"):
        response = client.patch(url, {"monthly_budget": bad}, format="json")
        assert response.status_code == 400 and "monthly_budget" in response.json()["error"]["fields"], bad
    assert client.patch(url, {"monthly_budget": "0"}, format="json").json()["monthly_budget"] == "0.000000"
    assert client.patch(url, {}, format="json").json()["monthly_budget"] == "0.000000"  # nothing named, unchanged
    assert client.patch(url, {"monthly_budget": None}, format="json").json()["monthly_budget"] is None
    assert selectors.org_wallet_of(org=org).monthly_budget is None
    assert key_client(users["owner"]).get(f"/api/v1/billing/balance/?org={org.slug}").json()["monthly_budget"] is None
    client.patch(url, {"monthly_budget": "7"}, format="json")
    assert key_client(users["owner"]).get(f"/api/v1/billing/balance/?org={org.slug}").json()[
        "monthly_budget"] == "7.000000"


def _predict(raw_key, app):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client.post(f"/api/v1/apps/{app.slug}/predictions/", {"input": {"text": "hello"}}, format="json")


def test_a_budget_set_through_the_api_refuses_a_call_that_would_exceed_it(org_world):
    org, users = org_world
    app = PaidAppFactory(base_price=D("1"), k=D("0"), max_price=D("1"))
    AppVersionFactory(app=app, status="ready", task="text-classification", input_schema={"type": "object"})
    services.org_credit_grant(org=org, amount="5", memo="seed", granted_by=None)
    LibraryEntryFactory(user=users["member"], app=app)
    raw_key = api_key_create(user=users["member"], name="org key", scopes=["predict"], org=org).raw_key
    budget = key_client(users["billing"]).patch(f"/api/v1/orgs/{org.slug}/", {"monthly_budget": "1.5"},
                                                format="json")
    assert budget.status_code == 200, budget.content
    first = _predict(raw_key, app)
    assert first.status_code in (201, 202), first.content  # 1.00 of the 1.50 budget
    refused = _predict(raw_key, app)  # 2.00 > 1.50, though the wallet holds enough
    assert refused.status_code == 402, refused.content
    assert refused.json()["error"]["code"] == "budget_exceeded"
    assert Charge.objects.filter(org=org).count() == 1
    assert selectors.org_balance(org=org) == (D("4"), D("1"))
    # Cleared (null), the same call is admitted.
    key_client(users["owner"]).patch(f"/api/v1/orgs/{org.slug}/", {"monthly_budget": None}, format="json")
    assert _predict(raw_key, app).status_code in (201, 202)
    assert Charge.objects.filter(org=org).count() == 2
    report = selectors.ledger_check()
    assert report.ok, report.problems


def test_org_wallet_page_sets_the_budget(org_world):
    org, users = org_world
    client = Client()
    client.force_login(users["billing"])
    url = f"/billing/orgs/{org.slug}/wallet/"
    assert "No monthly budget set." in client.get(url).content.decode()
    response = client.post(url, {"action": "budget", "monthly_budget": "30"}, follow=True)
    assert response.redirect_chain[-1][0] == url
    page = response.content.decode()
    assert "monthly budget is saved" in page and "0% of the organisation" in page
    assert selectors.org_wallet_of(org=org).monthly_budget == D("30")
    response = client.post(url, {"action": "budget", "monthly_budget": "-3"})
    assert response.status_code == 200 and 'class="errorlist' in response.content.decode()
    assert selectors.org_wallet_of(org=org).monthly_budget == D("30")
    client.post(url, {"action": "budget", "monthly_budget": ""})  # empty clears
    assert selectors.org_wallet_of(org=org).monthly_budget is None


def test_org_wallet_page_speaks_chinese(org_world):
    org, users = org_world
    client = Client()
    client.force_login(users["owner"])
    client.cookies["django_language"] = "zh-hans"
    page = client.get(f"/billing/orgs/{org.slug}/wallet/").content.decode()
    for text in ("组织应用的收益", "已累计，尚未打款。", "使用组织密钥的调用如果会超出其预算，将在运行前被拒绝。",
                 "该组织所拥有应用的收益会打款到组织自己的 Stripe 账户。", "保存预算"):
        assert text in page, text
    client.post(f"/billing/orgs/{org.slug}/wallet/", {"action": "budget", "monthly_budget": "10"})
    page = client.get(f"/billing/orgs/{org.slug}/wallet/").content.decode()
    assert "组织的每月预算已保存。" in page and "已用组织预算" in page
