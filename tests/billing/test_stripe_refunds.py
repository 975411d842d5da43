"""Refunds made on Stripe's side (the dashboard): signed events from the fake server, the REAL SDK re-fetch."""
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.test import Client

from accounts.models import AuditLog, Notification
from billing import selectors, services
from billing.models import Purchase, StripeEvent, TopUp, Transaction, Wallet
from tests.factories import PaidAppFactory

from .conftest import admit, finish
from .test_stripe import post_event

D = Decimal


def paid_topup(fake, user, amount: str) -> TopUp:
    topup = services.topup_start(user=user, amount=amount)
    fake.complete_session(topup.session_id, deliver=False)
    services.checkout_session_sync(session_id=topup.session_id)
    return TopUp.objects.get(pk=topup.pk)


def send(fake, events, capture) -> None:
    for event in events:
        with capture(execute=True):
            assert post_event(Client(), fake, event) == 200


def refund_bookings(topup: TopUp):
    return Transaction.objects.filter(idempotency_key__startswith=f"stripe-refund:topup:{topup.pk}:")


def assert_books_clean() -> None:
    assert selectors.ledger_check().ok
    out = io.StringIO()
    call_command("check_ledger", stdout=out)  # exits 1 (SystemExit) when not clean
    assert "The ledger is balanced." in out.getvalue()


@pytest.mark.django_db
def test_full_refund_on_stripe_reverses_the_topup(fake_stripe, eager_celery, buyer,
                                                  django_capture_on_commit_callbacks):
    topup = paid_topup(fake_stripe, buyer, "10.00")
    clearing_before = selectors.ledger_check().balances["stripe_clearing"]
    _refund, events = fake_stripe.refund_charge(topup.payment_intent, deliver=False)
    assert [e["type"] for e in events] == ["refund.created", "charge.refunded"]
    send(fake_stripe, events, django_capture_on_commit_callbacks)
    assert selectors.user_balance(user=buyer) == 0
    topup.refresh_from_db()
    assert topup.status == "refunded"
    booking = refund_bookings(topup).get()
    assert booking.kind == "refund" and {str(e.amount) for e in booking.entries.all()} == {"10.000000", "-10.000000"}
    assert selectors.ledger_check().balances["stripe_clearing"] == clearing_before - D("10")
    assert StripeEvent.objects.filter(processed_at__isnull=False).count() == 2
    assert_books_clean()


@pytest.mark.django_db
def test_partial_refunds_in_two_steps(fake_stripe, eager_celery, buyer, django_capture_on_commit_callbacks):
    topup = paid_topup(fake_stripe, buyer, "10.00")
    _refund, events = fake_stripe.refund_charge(topup.payment_intent, 300, deliver=False)
    send(fake_stripe, events, django_capture_on_commit_callbacks)
    assert selectors.user_balance(user=buyer) == D("7")
    topup.refresh_from_db()
    assert topup.status == "paid"
    _refund, events = fake_stripe.refund_charge(topup.payment_intent, 450, deliver=False)
    send(fake_stripe, events, django_capture_on_commit_callbacks)
    assert selectors.user_balance(user=buyer) == D("2.5")
    assert sorted(refund_bookings(topup).values_list("idempotency_key", flat=True)) == [
        f"stripe-refund:topup:{topup.pk}:300", f"stripe-refund:topup:{topup.pk}:750"]
    # After a Stripe-side refund, our admin refund of the whole top-up would double-book: refused.
    from config.errors import InvalidInput

    with pytest.raises(InvalidInput):
        services.topup_refund(topup=TopUp.objects.get(pk=topup.pk), actor=None)
    assert_books_clean()


@pytest.mark.django_db
def test_repeated_and_out_of_order_events_book_once(fake_stripe, eager_celery, buyer,
                                                    django_capture_on_commit_callbacks):
    topup = paid_topup(fake_stripe, buyer, "10.00")
    _first, early = fake_stripe.refund_charge(topup.payment_intent, 200, deliver=False)
    _second, late = fake_stripe.refund_charge(topup.payment_intent, 300, deliver=False)
    # The later refund's events arrive first, then the earlier ones, then everything again (Stripe retries).
    send(fake_stripe, late + early, django_capture_on_commit_callbacks)
    assert selectors.user_balance(user=buyer) == D("5")
    send(fake_stripe, late + early, django_capture_on_commit_callbacks)
    assert selectors.user_balance(user=buyer) == D("5")
    assert StripeEvent.objects.filter(type__in=["charge.refunded", "refund.created"]).count() == 4
    booking = refund_bookings(topup).get()  # the whole 5.00 in one booking, from Stripe's refunded total
    assert booking.idempotency_key.endswith(":500")
    assert_books_clean()


@pytest.mark.django_db
def test_refund_of_spent_money_books_what_is_left_and_alerts_moderators(
        fake_stripe, eager_celery, buyer, moderator, django_capture_on_commit_callbacks):
    topup = paid_topup(fake_stripe, buyer, "5.00")
    app = PaidAppFactory(base_price=D("3"), k=D("0"), max_price=D("3"))
    finish(admit(buyer, app))
    assert selectors.user_balance(user=buyer) == D("2")
    _refund, events = fake_stripe.refund_charge(topup.payment_intent, deliver=False)
    send(fake_stripe, events + events, django_capture_on_commit_callbacks)
    assert selectors.user_balance(user=buyer) == 0  # never negative
    booking = refund_bookings(topup).get()
    assert {str(e.amount) for e in booking.entries.all()} == {"2.000000", "-2.000000"}
    log = AuditLog.objects.get(action=services.REFUND_SHORTFALL_ACTION)
    assert log.target_id == str(topup.pk) and log.data["shortfall"] == "3.000000"
    notes = Notification.objects.filter(user=moderator, kind="billing.refund_shortfall")
    assert notes.count() == 1 and "3.000000" in notes.get().message
    assert not Notification.objects.filter(user=buyer, kind="billing.refund_shortfall").exists()
    assert_books_clean()


@pytest.mark.django_db
def test_refund_after_everything_was_spent_books_nothing_but_is_flagged_once(
        fake_stripe, eager_celery, buyer, moderator, django_capture_on_commit_callbacks):
    topup = paid_topup(fake_stripe, buyer, "5.00")
    app = PaidAppFactory(base_price=D("5"), k=D("0"), max_price=D("5"))
    finish(admit(buyer, app))
    _refund, events = fake_stripe.refund_charge(topup.payment_intent, 100, deliver=False)
    send(fake_stripe, events + events, django_capture_on_commit_callbacks)
    assert selectors.user_balance(user=buyer) == 0 and not refund_bookings(topup).exists()
    assert AuditLog.objects.filter(action=services.REFUND_SHORTFALL_ACTION).count() == 1
    assert Notification.objects.filter(user=moderator, kind="billing.refund_shortfall").count() == 1
    assert_books_clean()


@pytest.mark.django_db
def test_admin_refund_then_stripe_event_does_not_double_book(fake_stripe, eager_celery, buyer, moderator,
                                                             django_capture_on_commit_callbacks):
    topup = paid_topup(fake_stripe, buyer, "10.00")
    services.topup_refund(topup=topup, actor=moderator)
    charge = fake_stripe.charge_for(topup.payment_intent)
    assert charge["amount_refunded"] == 1000
    send(fake_stripe, [fake_stripe.make_event("charge.refunded", charge)], django_capture_on_commit_callbacks)
    assert selectors.user_balance(user=buyer) == 0 and not refund_bookings(topup).exists()
    assert_books_clean()


def paid_purchase(fake, user, price: str):
    app = PaidAppFactory(purchase_price=D(price))
    purchase = services.purchase_start(user=user, app=app)
    fake.complete_session(purchase.session_id, deliver=False)
    services.checkout_session_sync(session_id=purchase.session_id)
    return Purchase.objects.select_related("app").get(pk=purchase.pk)


@pytest.mark.django_db
def test_purchase_refund_on_stripe_reverses_share_and_fee(fake_stripe, eager_celery, buyer,
                                                          django_capture_on_commit_callbacks):
    purchase = paid_purchase(fake_stripe, buyer, "10.00")
    developer = purchase.app.owner
    assert selectors.developer_earnings(user=developer) == D("8")
    fees_before = selectors.ledger_check().balances["platform_fees"]
    _refund, events = fake_stripe.refund_charge(purchase.payment_intent, 250, deliver=False)
    send(fake_stripe, events + events, django_capture_on_commit_callbacks)
    assert selectors.developer_earnings(user=developer) == D("6")
    assert selectors.ledger_check().balances["platform_fees"] == fees_before - D("0.5")
    _refund, events = fake_stripe.refund_charge(purchase.payment_intent, deliver=False)
    send(fake_stripe, events, django_capture_on_commit_callbacks)
    assert selectors.developer_earnings(user=developer) == 0
    assert selectors.ledger_check().balances["platform_fees"] == fees_before - D("2")
    purchase.refresh_from_db()
    assert purchase.status == "refunded"
    assert not AuditLog.objects.filter(action=services.REFUND_SHORTFALL_ACTION).exists()
    assert_books_clean()


@pytest.mark.django_db
def test_purchase_refund_after_payout_flags_the_developer_share(fake_stripe, eager_celery, buyer, moderator,
                                                                settings, django_capture_on_commit_callbacks):
    settings.BILLING_PAYOUT_THRESHOLD = D("1.00")
    purchase = paid_purchase(fake_stripe, buyer, "10.00")
    developer = purchase.app.owner
    account = services.stripe_client().v1.accounts.create(params={"type": "express"})
    fake_stripe.enable_payouts(account.id, deliver=False)
    Wallet.objects.update_or_create(user=developer, defaults={"stripe_account_id": account.id,
                                                              "payouts_enabled": True})
    assert [p.status for p in services.payouts_run()] == ["paid"]
    assert selectors.developer_earnings(user=developer) == 0
    _refund, events = fake_stripe.refund_charge(purchase.payment_intent, deliver=False)
    send(fake_stripe, events + events, django_capture_on_commit_callbacks)
    assert selectors.developer_earnings(user=developer) == 0  # never negative
    log = AuditLog.objects.get(action=services.REFUND_SHORTFALL_ACTION)
    assert log.target_type == "billing.purchase" and log.data["shortfall"] == "8.000000"
    assert Notification.objects.filter(user=moderator, kind="billing.refund_shortfall").count() == 1
    assert_books_clean()
