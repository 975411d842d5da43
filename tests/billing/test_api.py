"""The billing part of shared/API.md: quote, balance, ledger, top-ups, grants."""
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from billing import selectors
from billing.models import CreditGrant
from tests.conftest import key_client
from tests.factories import AppFactory

from .conftest import admit, finish, fund

D = Decimal
pytestmark = pytest.mark.django_db


def test_quote_shape_and_expiry(auth_client, paid_app):
    response = auth_client.get(f"/api/v1/apps/{paid_app.slug}/quote/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"price", "currency", "quote_id", "expires_at"}
    assert body["price"] == "0.010000" and body["currency"] == "usd"


def test_quote_needs_auth_and_hides_drafts(api_client, auth_client):
    draft = AppFactory(status="draft")
    assert api_client.get(f"/api/v1/apps/{draft.slug}/quote/").status_code in (401, 403)
    response = auth_client.get(f"/api/v1/apps/{draft.slug}/quote/")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_balance_and_ledger(paid_app, user):
    client = key_client(user, scopes=["read"])
    fund(user, "2.5")
    finish(admit(user, paid_app))
    balance = client.get("/api/v1/billing/balance/").json()
    assert balance == {"balance": "2.490000", "held": "0.000000", "currency": "usd", "monthly_budget": None,
                       "spent_this_month": "0.010000", "earnings": "0.000000"}
    ledger = client.get("/api/v1/billing/ledger/").json()
    assert ledger["count"] == 2  # grant, settle (a hold is the wallet's `held` figure, not a posting)
    kinds = [row["kind"] for row in ledger["results"]]
    assert sorted(kinds) == ["grant", "settle"]
    first = ledger["results"][-1]
    assert first["amount"] == "2.500000" and first["memo"] == "test credits" and first["prediction"] is None
    settle = next(row for row in ledger["results"] if row["kind"] == "settle")
    assert settle["amount"] == "-0.010000" and settle["prediction"]
    me = client.get("/api/v1/me/").json()
    assert me["balance"] == "2.490000"


def test_topup_without_stripe_is_503(auth_client, settings):
    settings.STRIPE_SECRET_KEY = ""
    response = auth_client.post("/api/v1/billing/topups/", {"amount": "10.00"})
    assert response.status_code == 503 and response.json()["error"]["code"] == "payments_not_configured"


def test_topup_api_with_fake_stripe(auth_client, fake_stripe):
    response = auth_client.post("/api/v1/billing/topups/", {"amount": "10.00"})
    assert response.status_code == 201
    body = response.json()
    assert body["checkout_url"].startswith(fake_stripe.base_url) and body["session_id"].startswith("cs_test_")
    response = auth_client.post("/api/v1/billing/topups/", {"amount": "0.50"})
    assert response.status_code == 400 and "amount" in response.json()["error"]["fields"]


def test_topup_needs_predict_scope(user, fake_stripe):
    client = key_client(user, scopes=["read"])
    assert client.post("/api/v1/billing/topups/", {"amount": "10.00"}).status_code == 403


def test_grants_moderators_only(moderator, user):
    client = APIClient()
    client.force_authenticate(user)
    response = client.post("/api/v1/billing/grants/", {"user": user.email, "amount": "5", "memo": "hi"})
    assert response.status_code == 403
    client.force_authenticate(moderator)
    response = client.post("/api/v1/billing/grants/", {"user": user.email.upper(), "amount": "5.25",
                                                        "memo": "Launch promo"})
    assert response.status_code == 201, response.content
    assert response.json()["amount"] == "5.250000" and response.json()["granted_by"] == moderator.email
    assert selectors.user_balance(user=user) == D("5.25")
    assert CreditGrant.objects.get().transaction.created_by == moderator
    bad = client.post("/api/v1/billing/grants/", {"user": "nobody@example.com", "amount": "1", "memo": "x"})
    assert bad.status_code == 400 and "user" in bad.json()["error"]["fields"]
    bad = client.post("/api/v1/billing/grants/", {"user": user.email, "amount": "-1", "memo": "x"})
    assert bad.status_code == 400 and "amount" in bad.json()["error"]["fields"]


def test_recent_calls_drive_listing_price(paid_app, user):
    from marketplace.selectors import app_prices, app_recent_calls

    fund(user, "1")
    admit(user, paid_app)
    finish(admit(user, paid_app), ok=False)  # released calls do not count as demand
    assert app_recent_calls(app=paid_app) == 1
    assert app_prices(apps=[paid_app])[paid_app.pk] == D("0.011000")


def test_price_json_and_pages(client, paid_app, user):
    assert client.get(f"/billing/apps/{paid_app.slug}/price/").json()["price"] == "0.010000"
    client.force_login(user)
    fund(user, "3")
    page = client.get("/billing/wallet/")
    assert page.status_code == 200 and b"3.00" in page.content
    assert b"Card payments are not configured" in page.content
    response = client.post("/billing/wallet/", {"action": "budget", "monthly_budget": "-4"})
    assert response.status_code == 200 and b"errorlist" in response.content
    client.post("/billing/wallet/", {"action": "budget", "monthly_budget": "4"})
    assert selectors.user_monthly_budget(user=user) == D("4")
    assert client.get("/billing/earnings/").status_code == 404  # not a developer
    client.force_login(paid_app.owner)
    assert client.get("/billing/earnings/").status_code == 200
    assert client.get(paid_app.get_absolute_url()).status_code == 200


def test_wallet_purchase_without_stripe(client, user, settings):
    settings.STRIPE_SECRET_KEY = ""
    app = AppFactory(purchase_price=D("2.00"))
    client.force_login(user)
    api = APIClient()
    api.force_authenticate(user)
    blocked = api.post(f"/api/v1/apps/{app.slug}/acquire/")
    assert blocked.status_code == 402 and blocked.json()["error"]["checkout_url"].endswith(f"/apps/{app.slug}/buy/")
    response = client.post(f"/billing/apps/{app.slug}/buy/", {"method": "wallet"})
    assert response.status_code == 200 and b"Insufficient funds" in response.content
    fund(user, "5")
    client.post(f"/billing/apps/{app.slug}/buy/", {"method": "wallet"})
    assert selectors.user_balance(user=user) == D("3")
    assert api.post(f"/api/v1/apps/{app.slug}/acquire/").status_code in (200, 201)


def test_admin_economics_and_grant(client, paid_app, user, moderator):
    from django.contrib.auth import get_user_model

    fund(user, "1")
    finish(admit(user, paid_app))
    admin = get_user_model().objects.create_superuser(email="boss@example.com", username="boss", password="x-pass-123")
    client.force_login(admin)
    page = client.get("/admin/billing/economicsreport/")
    assert page.status_code == 200 and paid_app.name.encode() in page.content and b"<svg" in page.content
    client.force_login(moderator)
    response = client.post("/admin/billing/creditgrant/add/", {"user": user.pk, "amount": "2", "memo": "sorry"})
    assert response.status_code == 302, response.content[:2000]
    assert selectors.user_balance(user=user) == D("2.99")


def test_admin_accounts_list_shows_balances_in_constant_queries(client, paid_app, user, django_assert_max_num_queries):
    """The ledger accounts list sums entries in its own query; each balance is on the account's normal side."""
    from django.contrib.auth import get_user_model

    from billing.ledger import account_balance
    from billing.models import Account

    fund(user, "1")
    finish(admit(user, paid_app))
    admin = get_user_model().objects.create_superuser(email="boss@example.com", username="boss", password="x-pass-123")
    client.force_login(admin)
    accounts = list(Account.objects.all())
    assert len(accounts) >= 4  # wallet, revenue/earnings, fees, cost...
    with django_assert_max_num_queries(12):
        page = client.get("/admin/billing/account/")
    assert page.status_code == 200
    wallet = next(a for a in accounts if a.user_id == user.pk and a.kind == "wallet")
    assert account_balance(wallet) == D("0.99")
    assert b"0.990000" in page.content


def test_wallet_shows_one_line_per_call_in_one_money_format(client, paid_app, user):
    fund(user, "2.5")
    finish(admit(user, paid_app))  # hold, charge: one line
    finish(admit(user, paid_app), ok=False)  # hold, release: no money moved, so no line
    running = admit(user, paid_app)  # still on hold
    client.force_login(user)
    body = client.get("/billing/wallet/").content.decode()
    table = body.split('id="ledger"')[1].split("</table>")[0]
    rows = table.split("<tr data-kind=")[1:]
    assert [row.split('"')[1] for row in rows] == ["call", "call", "grant"]
    assert "−$0.01<" in rows[1] and "+$2.50" in rows[2]
    assert "on hold" in rows[0] and "$0.01" in rows[0]
    assert "2.490000" not in body and "USD" not in table
    assert running  # the running call's hold is the first line
