"""Stripe through the REAL SDK against the fake server: top-ups, the webhook, Connect payouts, refunds."""
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connections
from django.test import Client

from billing import selectors, services
from billing.models import Payout, StripeEvent, TopUp, Transaction, Wallet
from marketplace.models import App, LibraryEntry
from tests.factories import PaidAppFactory, UserFactory

from .conftest import admit, finish, fund

D = Decimal
WEBHOOK = "/billing/stripe/webhook/"


def post_event(client, fake, event) -> int:
    payload, signature = fake.event_payload(event)
    return client.post(WEBHOOK, data=payload, content_type="application/json",
                       HTTP_STRIPE_SIGNATURE=signature).status_code


@pytest.mark.django_db
def test_topup_checkout_session_and_webhook_credit(fake_stripe, eager_celery, buyer,
                                                   django_capture_on_commit_callbacks):
    topup = services.topup_start(user=buyer, amount="10.00")
    session = fake_stripe.objects[topup.session_id]
    assert session["amount_total"] == 1000 and session["metadata"]["kind"] == "topup"
    assert topup.checkout_url.startswith(fake_stripe.base_url)
    event = fake_stripe.complete_session(topup.session_id, deliver=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert post_event(Client(), fake_stripe, event) == 200
    assert selectors.user_balance(user=buyer) == D("10")
    topup.refresh_from_db()
    assert topup.status == "paid" and topup.payment_intent.startswith("pi_")
    assert StripeEvent.objects.get().processed_at is not None
    # Stripe retries the same event: stored once, credited once.
    with django_capture_on_commit_callbacks(execute=True):
        assert post_event(Client(), fake_stripe, event) == 200
    assert selectors.user_balance(user=buyer) == D("10") and StripeEvent.objects.count() == 1


@pytest.mark.django_db
def test_webhook_rejects_bad_signature(fake_stripe, buyer):
    event = fake_stripe.make_event("checkout.session.completed", {"id": "cs_test_x", "object": "checkout.session"})
    payload, _signature = fake_stripe.event_payload(event)
    response = Client().post(WEBHOOK, data=payload, content_type="application/json",
                             HTTP_STRIPE_SIGNATURE="t=1,v1=deadbeef")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_signature"
    tampered = payload.replace("checkout.session.completed", "checkout.session.expired")
    response = Client().post(WEBHOOK, data=tampered, content_type="application/json",
                             HTTP_STRIPE_SIGNATURE=fake_stripe.sign(payload))
    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


@pytest.mark.django_db
def test_out_of_order_events_refetch_the_session(fake_stripe, eager_celery, buyer,
                                                 django_capture_on_commit_callbacks):
    """An old 'open' snapshot arriving after payment still credits: the object is fetched again."""
    topup = services.topup_start(user=buyer, amount="5.00")
    stale = fake_stripe.make_event("checkout.session.async_payment_succeeded",
                                   dict(fake_stripe.objects[topup.session_id]))  # status "open" in the payload
    completed = fake_stripe.complete_session(topup.session_id, deliver=False)
    with django_capture_on_commit_callbacks(execute=True):
        post_event(Client(), fake_stripe, stale)
    assert selectors.user_balance(user=buyer) == D("5")
    with django_capture_on_commit_callbacks(execute=True):
        post_event(Client(), fake_stripe, completed)
    assert selectors.user_balance(user=buyer) == D("5")
    assert Transaction.objects.filter(kind="topup").count() == 1


@pytest.mark.django_db
def test_topup_minimum_and_cents(fake_stripe, buyer):
    from config.errors import InvalidInput

    for bad in ("1.00", "10.001", "-5", "abc"):
        with pytest.raises(InvalidInput):
            services.topup_start(user=buyer, amount=bad)
    assert not TopUp.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("real_races")
def test_same_webhook_event_ten_times_in_parallel_credits_once(fake_stripe, eager_celery):
    user = UserFactory()
    topup = services.topup_start(user=user, amount="25.00")
    event = fake_stripe.complete_session(topup.session_id, deliver=False)
    payload, signature = fake_stripe.event_payload(event)
    barrier = threading.Barrier(10)

    def deliver(_i):
        try:
            barrier.wait(timeout=30)
            return Client().post(WEBHOOK, data=payload, content_type="application/json",
                                 HTTP_STRIPE_SIGNATURE=signature).status_code
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(deliver, range(10)))
    assert all(200 <= status < 300 for status in statuses), statuses
    assert StripeEvent.objects.count() == 1
    assert Transaction.objects.filter(kind="topup").count() == 1
    assert selectors.user_balance(user=user) == D("25")

    # Ten DIFFERENT events for the same paid session, processed concurrently: still one credit.
    events = [fake_stripe.make_event("checkout.session.completed", fake_stripe.objects[topup.session_id])
              for _ in range(10)]
    stored = [StripeEvent.objects.create(event_id=e["id"], type=e["type"], payload=e) for e in events]

    def process(pk):
        try:
            services.stripe_event_process(event_pk=pk)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(process, [s.pk for s in stored]))
    assert Transaction.objects.filter(kind="topup").count() == 1
    assert selectors.user_balance(user=user) == D("25")
    assert selectors.ledger_check().ok


@pytest.mark.django_db
def test_connect_onboarding_account_updated_and_payout(fake_stripe, eager_celery, buyer, settings,
                                                       django_capture_on_commit_callbacks):
    settings.BILLING_PAYOUT_THRESHOLD = D("1.00")
    app = PaidAppFactory(base_price=D("2.345678"), k=D("0"), max_price=D("10"))
    developer = app.owner
    fund(buyer, "20")
    for _ in range(3):
        finish(admit(buyer, app))
    earned = selectors.developer_earnings(user=developer)
    assert earned == D("5.629626")  # 3 × round(2.345678 × 0.8, 6)

    url = services.connect_onboarding_link(user=developer, return_url="http://testserver/r",
                                           refresh_url="http://testserver/f")
    account_id = Wallet.objects.get(user=developer).stripe_account_id
    assert account_id.startswith("acct_") and account_id in url
    assert services.payouts_run() == []  # not onboarded yet: nothing is sent
    event = fake_stripe.enable_payouts(account_id, deliver=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert post_event(Client(), fake_stripe, event) == 200
    assert Wallet.objects.get(user=developer).payouts_enabled

    from billing.tasks import payouts_run

    payouts_run.apply()
    payout = Payout.objects.get()
    assert payout.status == "paid" and payout.amount == D("5.62")  # whole cents, rounded down
    transfer = fake_stripe.objects[payout.transfer_id]
    assert transfer["amount"] == 562 and transfer["destination"] == account_id
    assert transfer["transfer_group"] == f"payout_{payout.pk}"
    transfer_posts = [r for r in fake_stripe.requests if r[1] == "/v1/transfers"]
    assert len(transfer_posts) == 1
    assert selectors.developer_earnings(user=developer) == D("0.009626")
    # Running again sends nothing new; resending the same payout replays the same transfer (idempotency key).
    payouts_run.apply()
    Payout.objects.filter(pk=payout.pk).update(status="pending")
    again = services.payout_send(payout_id=payout.pk)
    assert again.transfer_id == payout.transfer_id and len(fake_stripe.of_type("transfer")) == 1
    assert selectors.ledger_check().ok


@pytest.mark.django_db
def test_failed_transfer_gives_earnings_back(fake_stripe, settings):
    settings.BILLING_PAYOUT_THRESHOLD = D("1.00")
    app = PaidAppFactory(base_price=D("5"), k=D("0"), max_price=D("5"))
    user = UserFactory()
    fund(user, "10")
    finish(admit(user, app))
    account = services.stripe_client().v1.accounts.create(params={"type": "express"})
    Wallet.objects.update_or_create(user=app.owner, defaults={"stripe_account_id": account.id,
                                                              "payouts_enabled": True})
    payouts = services.payouts_run()  # the fake refuses: the account cannot receive transfers
    assert payouts[0].status == "failed"
    assert selectors.developer_earnings(user=app.owner) == D("4")
    assert selectors.ledger_check().ok


@pytest.mark.django_db
def test_topup_refund_through_stripe_reverses_entries(fake_stripe, buyer, moderator):
    from config.errors import InvalidInput

    topup = services.topup_start(user=buyer, amount="10.00")
    fake_stripe.complete_session(topup.session_id, deliver=False)
    services.checkout_session_sync(session_id=topup.session_id)
    assert selectors.user_balance(user=buyer) == D("10")
    topup.refresh_from_db()
    reversal = services.topup_refund(topup=topup, actor=moderator)
    assert reversal.reverses.kind == "topup" and reversal.created_by == moderator
    assert selectors.user_balance(user=buyer) == 0
    refund = fake_stripe.of_type("refund")[0]
    assert refund["amount"] == 1000 and refund["payment_intent"] == topup.payment_intent
    with pytest.raises(InvalidInput):
        services.topup_refund(topup=TopUp.objects.get(), actor=moderator)
    assert selectors.ledger_check().ok


@pytest.mark.django_db
def test_spent_topup_cannot_be_refunded(fake_stripe, buyer, moderator):
    from config.errors import InvalidInput

    topup = services.topup_start(user=buyer, amount="5.00")
    fake_stripe.complete_session(topup.session_id, deliver=False)
    services.checkout_session_sync(session_id=topup.session_id)
    app = PaidAppFactory(base_price=D("1"), k=D("0"), max_price=D("1"))
    finish(admit(buyer, app))
    with pytest.raises(InvalidInput):
        services.topup_refund(topup=TopUp.objects.get(), actor=moderator)
    assert selectors.user_balance(user=buyer) == D("4")


@pytest.mark.django_db
def test_paid_app_purchase_via_checkout(fake_stripe, eager_celery, buyer, django_capture_on_commit_callbacks):
    from rest_framework.test import APIClient

    app = PaidAppFactory(purchase_price=D("3.99"))
    client = APIClient()
    client.force_authenticate(buyer)
    response = client.post(f"/api/v1/apps/{app.slug}/acquire/")
    assert response.status_code == 402, response.content
    checkout_url = response.json()["error"]["checkout_url"]
    session_id = checkout_url.rsplit("/", 1)[1]
    assert fake_stripe.objects[session_id]["amount_total"] == 399
    event = fake_stripe.complete_session(session_id, deliver=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert post_event(Client(), fake_stripe, event) == 200
    assert LibraryEntry.objects.filter(user=buyer, app=app, source="purchase").exists()
    assert selectors.developer_earnings(user=app.owner) == D("3.192")
    assert client.post(f"/api/v1/apps/{app.slug}/acquire/").status_code in (200, 201)
    assert json.loads(json.dumps(selectors.ledger_check().ok))


def test_a_purchase_paid_while_the_app_was_suspended_is_recorded_and_flagged(
        fake_stripe, eager_celery, buyer, django_capture_on_commit_callbacks):
    from rest_framework.test import APIClient

    from accounts.models import AuditLog, Notification
    from billing.models import Purchase
    from tests.factories import ModeratorFactory

    moderator = ModeratorFactory()
    app = PaidAppFactory(purchase_price=D("3.99"))
    client = APIClient()
    client.force_authenticate(buyer)
    session_id = client.post(f"/api/v1/apps/{app.slug}/acquire/").json()["error"]["checkout_url"].rsplit("/", 1)[1]
    App.objects.filter(pk=app.pk).update(status="suspended")  # suspended while the buyer was on Stripe
    event = fake_stripe.complete_session(session_id, deliver=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert post_event(Client(), fake_stripe, event) == 200
    purchase = Purchase.objects.get(user=buyer, app=app)
    assert purchase.status == "paid" and purchase.amount == D("3.99")
    assert LibraryEntry.objects.filter(user=buyer, app=app, source="purchase").exists()
    assert AuditLog.objects.filter(action="billing.purchase_unavailable_app").count() == 1
    assert Notification.objects.filter(user=moderator, kind="billing.purchase_unavailable").count() == 1
    assert selectors.ledger_check().ok
