"""Organisations and Stripe through the REAL SDK against the fake server: top-ups of an org's wallet (API, page,
webhook and return-page sync, refunds) and payouts of an org's earnings to the org's own Connect account."""
from decimal import Decimal as D

import pytest
from django.test import Client

from accounts.models import Membership
from accounts.org_services import org_create
from billing import selectors, services
from billing.models import Account, AccountKind, OrgWallet, Payout, TopUp, Transaction, Wallet
from tests.conftest import key_client
from tests.factories import AppVersionFactory, DeveloperFactory, PaidAppFactory, UserFactory

from .conftest import admit, finish, fund
from .test_stripe import post_event
from .test_stripe_refunds import assert_books_clean, send

pytestmark = pytest.mark.django_db

ROLES = ("owner", "admin", "developer", "billing", "member", "outsider")
TOPUP = (201, 403, 403, 201, 403, 404)  # wallet.topup: owner and billing; non-members 404


@pytest.fixture
def org_world():
    owner = DeveloperFactory()
    org = org_create(user=owner, name="Acme")
    users = {"owner": owner, "outsider": UserFactory()}
    for role in ROLES[1:-1]:
        users[role] = DeveloperFactory()
        Membership.objects.create(org=org, user=users[role], role=role)
    return org, users


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _topup_via_api(user, org, amount="10.00"):
    return key_client(user).post("/api/v1/billing/topups/", {"amount": amount, "org": org.slug}, format="json")


@pytest.mark.parametrize("role", ROLES)
def test_org_topup_api_by_role(fake_stripe, org_world, role):
    org, users = org_world
    response = _topup_via_api(users[role], org)
    assert response.status_code == TOPUP[ROLES.index(role)], response.content
    if response.status_code != 201:
        assert response.json()["error"]["code"] and not TopUp.objects.exists()
        return
    body = response.json()
    topup = TopUp.objects.get(session_id=body["session_id"])
    assert body["org"] == org.slug and body["amount"] == "10.000000"
    assert topup.org == org and topup.user == users[role] and topup.status == "pending"
    session = fake_stripe.objects[topup.session_id]
    assert session["amount_total"] == 1000 and session["metadata"]["org"] == org.slug
    assert session["success_url"].endswith(f"/billing/orgs/{org.slug}/wallet/?topup=success")


def test_a_paid_org_topup_credits_the_org_wallet_once(fake_stripe, eager_celery, org_world,
                                                      django_capture_on_commit_callbacks):
    org, users = org_world
    payer = users["billing"]
    session_id = _topup_via_api(payer, org, "12.50").json()["session_id"]
    event = fake_stripe.complete_session(session_id, deliver=False)
    # The return page's sync path first, then the webhook, then Stripe's retry: credited exactly once.
    services.checkout_session_sync(session_id=session_id)
    services.checkout_session_sync(session_id=session_id)
    for _attempt in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            assert post_event(Client(), fake_stripe, event) == 200
    assert selectors.org_balance(org=org) == (D("12.5"), D("0"))
    assert OrgWallet.objects.get(org=org).balance == D("12.5")
    assert selectors.user_balance(user=payer) == D("0")  # the payer's own wallet is not credited
    assert not Wallet.objects.filter(user=payer, balance__gt=0).exists()
    txn = Transaction.objects.get(kind="topup")
    assert {(e.account.kind, e.account.org_id, e.account.user_id, e.amount) for e in txn.entries.all()} == {
        (AccountKind.WALLET, org.pk, None, D("-12.5")), (AccountKind.STRIPE_CLEARING, None, None, D("12.5"))}
    assert [e.amount for e in selectors.org_ledger(org=org)] == [D("-12.5")]
    topup = TopUp.objects.get()
    assert topup.status == "paid" and topup.payment_intent.startswith("pi_")
    assert_books_clean()


def test_org_wallet_page_tops_up_and_syncs_on_return(fake_stripe, org_world):
    org, users = org_world
    url = f"/billing/orgs/{org.slug}/wallet/"
    owner = _client(users["owner"])
    page = owner.get(url).content.decode()
    assert 'id="topup-submit"' in page and 'id="budget-submit"' in page and 'id="org-connect-onboard"' in page
    response = owner.post(url, {"action": "topup", "amount": "15.00"})
    assert response.status_code == 302 and response["Location"].startswith(fake_stripe.base_url)
    topup = TopUp.objects.get()
    assert topup.org == org and topup.amount == D("15")
    assert fake_stripe.objects[topup.session_id]["success_url"].endswith(f"{url}?session_id={{CHECKOUT_SESSION_ID}}")
    fake_stripe.complete_session(topup.session_id, deliver=False)
    page = owner.get(f"{url}?session_id={topup.session_id}").content.decode()  # no webhook yet: the page syncs
    assert selectors.org_balance(org=org)[0] == D("15")
    assert 'data-amount="15.000000"' in page and "Recent top-ups" in page and users["owner"].username in page
    # The personal wallet page does not list the org's top-up as the user's own.
    assert "Recent top-ups" not in owner.get("/billing/wallet/").content.decode()
    # Too little: the form says so and nothing is opened on Stripe.
    response = owner.post(url, {"action": "topup", "amount": "0.50"})
    assert response.status_code == 200 and 'class="errorlist' in response.content.decode()
    assert TopUp.objects.count() == 1
    assert_books_clean()


def test_org_wallet_page_forms_follow_the_role_table(fake_stripe, org_world):
    org, users = org_world
    url = f"/billing/orgs/{org.slug}/wallet/"
    admin = _client(users["admin"])
    page = admin.get(url).content.decode()  # admin sees the wallet, but neither tops up, budgets nor pays out
    assert 'id="topup-submit"' not in page and 'id="budget-submit"' not in page
    assert 'id="org-connect-onboard"' not in page
    assert admin.post(url, {"action": "topup", "amount": "15.00"}).status_code == 403
    assert admin.post(url, {"action": "budget", "monthly_budget": "5"}).status_code == 403
    assert admin.post(f"/billing/orgs/{org.slug}/connect/").status_code == 403
    assert not TopUp.objects.exists() and selectors.org_wallet_of(org=org) is None
    assert _client(users["member"]).post(url, {"action": "topup", "amount": "15.00"}).status_code == 403
    assert _client(users["outsider"]).post(url, {"action": "topup", "amount": "15.00"}).status_code == 404
    page = _client(users["billing"]).get(url).content.decode()
    assert 'id="topup-submit"' in page and 'id="budget-submit"' in page and 'id="org-connect-onboard"' in page


def _paid_org_topup(fake, user, org, amount: str) -> TopUp:
    topup = services.topup_start(user=user, org=org, amount=amount)
    fake.complete_session(topup.session_id, deliver=False)
    services.checkout_session_sync(session_id=topup.session_id)
    return TopUp.objects.get(pk=topup.pk)


def test_refunds_of_an_org_topup_come_back_from_the_org_wallet(fake_stripe, eager_celery, org_world, moderator,
                                                               django_capture_on_commit_callbacks):
    org, users = org_world
    payer = users["owner"]
    fund(payer, "3")  # the payer's own money must not move
    topup = _paid_org_topup(fake_stripe, payer, org, "10.00")
    _refund, events = fake_stripe.refund_charge(topup.payment_intent, 400, deliver=False)  # 4.00 on Stripe
    send(fake_stripe, events, django_capture_on_commit_callbacks)
    assert selectors.org_balance(org=org) == (D("6"), D("0")) and selectors.user_balance(user=payer) == D("3")
    assert_books_clean()
    other = _paid_org_topup(fake_stripe, payer, org, "5.00")
    services.topup_refund(topup=other, actor=moderator)  # from the admin: reversed whole, refunded on Stripe
    assert selectors.org_balance(org=org) == (D("6"), D("0")) and selectors.user_balance(user=payer) == D("3")
    other.refresh_from_db()
    assert other.status == "refunded"
    assert fake_stripe.charge_for(other.payment_intent)["amount_refunded"] == 500
    assert_books_clean()


def test_admin_refund_keeps_what_org_calls_hold(fake_stripe, org_world, moderator):
    from accounts.services import api_key_create
    from config.errors import InvalidInput

    org, users = org_world
    topup = _paid_org_topup(fake_stripe, users["owner"], org, "5.00")
    app = PaidAppFactory(base_price=D("1"), k=D("0"), max_price=D("1"))
    AppVersionFactory(app=app, status="ready")
    key = api_key_create(user=users["member"], name="org", scopes=["predict"], org=org).api_key
    admit(users["member"], app, api_key=key)  # 1.00 held on the org's wallet
    with pytest.raises(InvalidInput):
        services.topup_refund(topup=topup, actor=moderator)
    assert selectors.org_balance(org=org) == (D("4"), D("1"))
    assert_books_clean()


@pytest.fixture
def org_app_earnings(org_world, settings):
    """An app the org owns, three paid calls: its developer share accrues to the org (5.629626)."""
    settings.BILLING_PAYOUT_THRESHOLD = D("1.00")
    org, users = org_world
    app = PaidAppFactory(owner=users["developer"], org=org, base_price=D("2.345678"), k=D("0"), max_price=D("10"))
    AppVersionFactory(app=app, status="ready")
    buyer = UserFactory()
    fund(buyer, "20")
    for _ in range(3):
        finish(admit(buyer, app))
    return org, users


def test_org_earnings_are_paid_out_to_the_orgs_connect_account(fake_stripe, eager_celery, org_app_earnings,
                                                               django_capture_on_commit_callbacks):
    org, users = org_app_earnings
    assert selectors.org_earnings(org=org) == D("5.629626")
    assert selectors.developer_earnings(user=users["developer"]) == 0
    url = f"/billing/orgs/{org.slug}/wallet/"
    assert 'data-amount="5.629626"' in _client(users["billing"]).get(url).content.decode()

    # Billing members onboard the org's own Connect account from the org wallet page.
    response = _client(users["billing"]).post(f"/billing/orgs/{org.slug}/connect/")
    assert response.status_code == 302 and response["Location"].startswith(fake_stripe.base_url)
    account_id = OrgWallet.objects.get(org=org).stripe_account_id
    assert account_id.startswith("acct_") and account_id in response["Location"]
    assert fake_stripe.objects[account_id]["metadata"] == {"org_id": str(org.pk)}
    assert not Wallet.objects.filter(user=users["billing"]).exclude(stripe_account_id="").exists()
    # A second click (the owner's) reuses the org's account.
    _client(users["owner"]).post(f"/billing/orgs/{org.slug}/connect/")
    assert OrgWallet.objects.get(org=org).stripe_account_id == account_id
    assert len(fake_stripe.of_type("account")) == 1
    assert services.payouts_run() == []  # not onboarded yet: nothing is sent

    event = fake_stripe.enable_payouts(account_id, deliver=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert post_event(Client(), fake_stripe, event) == 200
    assert OrgWallet.objects.get(org=org).payouts_enabled
    back = _client(users["billing"]).get(f"/billing/orgs/{org.slug}/connect/return/", follow=True)
    assert back.redirect_chain[-1][0] == url and "payout account is ready" in back.content.decode()

    from billing.tasks import payouts_run

    payouts_run.apply()
    payout = Payout.objects.get()
    assert payout.org == org and payout.developer is None
    assert payout.status == "paid" and payout.amount == D("5.62")  # whole cents, rounded down
    transfer = fake_stripe.objects[payout.transfer_id]
    assert transfer["destination"] == account_id and transfer["amount"] == 562
    assert selectors.org_earnings(org=org) == D("0.009626")
    txn = Transaction.objects.get(kind="payout")
    assert {(e.account.kind, e.account.org_id, e.amount) for e in txn.entries.all()} == {
        (AccountKind.EARNINGS, org.pk, D("5.62")), (AccountKind.STRIPE_PAYOUTS, None, D("-5.62"))}
    # Running again sends nothing new; resending replays the same transfer (idempotency key).
    payouts_run.apply()
    Payout.objects.filter(pk=payout.pk).update(status="pending")
    assert services.payout_send(payout_id=payout.pk).transfer_id == payout.transfer_id
    assert len(fake_stripe.of_type("transfer")) == 1
    page = _client(users["owner"]).get(url).content.decode()
    assert payout.transfer_id in page and 'data-amount="0.009626"' in page
    assert_books_clean()


def test_a_refused_org_transfer_gives_the_earnings_back_to_the_org(fake_stripe, org_app_earnings):
    org, users = org_app_earnings
    account = services.stripe_client().v1.accounts.create(params={"type": "express"})
    OrgWallet.objects.update_or_create(org=org, defaults={"stripe_account_id": account.id, "payouts_enabled": True})
    developer_wallet = Wallet.objects.get_or_create(user=users["developer"])[0]
    Wallet.objects.filter(pk=developer_wallet.pk).update(stripe_account_id=account.id, payouts_enabled=True)
    payouts = services.payouts_run()  # the fake refuses: the account cannot receive transfers
    assert [(p.org_id, p.status) for p in payouts] == [(org.pk, "failed")]  # the developer earned nothing
    assert selectors.org_earnings(org=org) == D("5.629626")
    reversal = Transaction.objects.get(kind="payout_reversal")
    assert Account.objects.filter(entries__transaction=reversal, kind=AccountKind.EARNINGS, org=org).exists()
    assert_books_clean()


def test_only_payout_managers_onboard_the_org(fake_stripe, org_world):
    from config.errors import PermissionDenied

    org, users = org_world
    for role in ("admin", "developer", "member"):
        with pytest.raises(PermissionDenied):
            services.connect_onboarding_link(user=users[role], org=org, return_url="http://testserver/r",
                                             refresh_url="http://testserver/f")
    assert _client(users["outsider"]).post(f"/billing/orgs/{org.slug}/connect/").status_code == 404
    assert not fake_stripe.of_type("account")


def test_a_purchase_of_an_org_app_earns_for_the_org_and_a_stripe_refund_takes_it_back(
        fake_stripe, eager_celery, org_world, buyer, django_capture_on_commit_callbacks):
    org, users = org_world
    app = PaidAppFactory(owner=users["developer"], org=org, purchase_price=D("10.00"))
    purchase = services.purchase_start(user=buyer, app=app)
    fake_stripe.complete_session(purchase.session_id, deliver=False)
    services.checkout_session_sync(session_id=purchase.session_id)
    assert selectors.org_earnings(org=org) == D("8")  # 80% of 10.00
    assert selectors.developer_earnings(user=users["developer"]) == 0
    purchase.refresh_from_db()
    _refund, events = fake_stripe.refund_charge(purchase.payment_intent, 250, deliver=False)  # 2.50 back
    send(fake_stripe, events, django_capture_on_commit_callbacks)
    assert selectors.org_earnings(org=org) == D("6")  # 8 - 80% of 2.50
    assert selectors.developer_earnings(user=users["developer"]) == 0
    assert_books_clean()
