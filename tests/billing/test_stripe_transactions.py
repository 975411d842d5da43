"""No Stripe call inside a DB transaction, and each Stripe event's handler status (as zulip records it)."""
from decimal import Decimal

import pytest
import stripe
from django.db import transaction
from django.test import Client

from billing import selectors, services
from billing.models import Purchase, StripeEvent, TopUp
from billing.services import stripe_api
from tests.factories import PaidAppFactory, UserFactory

from .conftest import admit, finish, fund

D = Decimal
WEBHOOK = "/billing/stripe/webhook/"
pytestmark = pytest.mark.django_db


@pytest.fixture
def stripe_requests(monkeypatch):
    """Every request the SDK makes, with whether a real transaction was open at that moment (the SDK's HTTP
    layer calls this check; the block a test case wraps each test in does not count)."""
    seen: list[tuple[str, str, bool]] = []
    check = stripe_api._check_outside_transaction

    def record(method, url):
        seen.append((method, url, stripe_api.in_transaction()))
        check(method, url)

    monkeypatch.setattr(stripe_api, "_check_outside_transaction", record)
    return seen


def test_a_stripe_call_inside_a_transaction_is_refused(fake_stripe, settings):
    settings.STRIPE_CALLS_IN_TRANSACTION = "raise"
    client = services.stripe_client()
    with transaction.atomic(), pytest.raises(stripe_api.StripeCallInTransaction):
        client.v1.accounts.create(params={"type": "express"})
    assert not fake_stripe.of_type("account")  # refused before it left the process
    assert client.v1.accounts.create(params={"type": "express"}).id  # outside a transaction it goes


def test_in_warn_mode_the_call_is_logged_and_goes_ahead(fake_stripe, settings, caplog):
    settings.STRIPE_CALLS_IN_TRANSACTION = "warn"
    with transaction.atomic():
        services.stripe_client().v1.accounts.create(params={"type": "express"})
    assert len(fake_stripe.of_type("account")) == 1
    assert "inside a database transaction" in caplog.text


def test_checkout_starts_commit_first_then_call_stripe_outside_any_transaction(fake_stripe, buyer,
                                                                                stripe_requests):
    topup = services.topup_start(user=buyer, amount="10.00")
    app = PaidAppFactory(purchase_price=D("3.00"))
    purchase = services.purchase_start(user=buyer, app=app)
    assert [(method, url.rsplit("/", 2)[-2:]) for method, url, _open in stripe_requests] == [
        ("post", ["checkout", "sessions"]), ("post", ["checkout", "sessions"])]
    assert not any(open_ for _method, _url, open_ in stripe_requests)
    # The pending rows were committed before Stripe was called; the session ids were recorded after.
    assert TopUp.objects.get().session_id == topup.session_id and topup.session_id in fake_stripe.objects
    assert Purchase.objects.get().session_id == purchase.session_id and purchase.checkout_url


def test_a_checkout_start_refuses_to_run_inside_a_caller_transaction(fake_stripe, buyer):
    with pytest.raises(RuntimeError), transaction.atomic():
        services.topup_start(user=buyer, amount="10.00")
    assert not TopUp.objects.exists() and not fake_stripe.of_type("checkout.session")


def test_a_failed_checkout_call_leaves_no_pending_row(fake_stripe, buyer, settings):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens: the SDK gives up
    with pytest.raises(stripe.APIConnectionError):
        services.topup_start(user=buyer, amount="10.00")
    assert not TopUp.objects.exists()


def test_event_processing_fetches_from_stripe_before_any_lock(fake_stripe, eager_celery, buyer, stripe_requests,
                                                               django_capture_on_commit_callbacks):
    topup = services.topup_start(user=buyer, amount="10.00")
    event = fake_stripe.complete_session(topup.session_id, deliver=False)
    payload, signature = fake_stripe.event_payload(event)
    with django_capture_on_commit_callbacks(execute=True):
        assert Client().post(WEBHOOK, data=payload, content_type="application/json",
                             HTTP_STRIPE_SIGNATURE=signature).status_code == 200
    services.checkout_session_sync(session_id=topup.session_id)  # the success page's re-check does the same
    retrieves = [entry for entry in stripe_requests if entry[0] == "get"]
    assert len(retrieves) == 2 and not any(open_ for _method, _url, open_ in stripe_requests)
    assert selectors.user_balance(user=buyer) == D("10")


def test_connect_onboarding_and_payouts_call_stripe_outside_transactions(fake_stripe, settings, stripe_requests):
    settings.BILLING_PAYOUT_THRESHOLD = D("1.00")
    app = PaidAppFactory(base_price=D("2"), k=D("0"), max_price=D("2"))
    buyer = UserFactory()
    fund(buyer, "10")
    finish(admit(buyer, app))
    services.connect_onboarding_link(user=app.owner, return_url="http://testserver/r",
                                     refresh_url="http://testserver/f")
    account_id = selectors.wallet_of(user=app.owner).stripe_account_id
    fake_stripe.enable_payouts(account_id, deliver=False)
    services.connect_account_sync(account_id=account_id)
    assert services.payouts_run()[0].status == "paid"
    kinds = [url.rsplit("/v1/", 1)[-1].split("/")[0] for _method, url, _open in stripe_requests]
    assert {"accounts", "account_links", "transfers"} <= set(kinds)
    assert not any(open_ for _method, _url, open_ in stripe_requests)


# --- Handler status ------------------------------------------------------------------------------------------

def _stored(fake_stripe, type_: str, obj: dict) -> StripeEvent:
    event = fake_stripe.make_event(type_, obj)
    return StripeEvent.objects.create(event_id=event["id"], type=event["type"], payload=event)


def test_a_handled_event_is_marked_succeeded(fake_stripe, buyer):
    topup = services.topup_start(user=buyer, amount="10.00")
    fake_stripe.complete_session(topup.session_id, deliver=False)
    stored = _stored(fake_stripe, "checkout.session.completed", fake_stripe.objects[topup.session_id])
    assert stored.status == "received"
    services.stripe_event_process(event_pk=stored.pk)
    stored.refresh_from_db()
    assert stored.status == "succeeded" and stored.processed_at is not None and stored.error == ""
    services.stripe_event_process(event_pk=stored.pk)  # processed once: a repeat changes nothing
    assert selectors.user_balance(user=buyer) == D("10")


def test_an_event_we_do_not_handle_is_marked_ignored(fake_stripe):
    stored = _stored(fake_stripe, "invoice.paid", {"id": "in_123", "object": "invoice"})
    services.stripe_event_process(event_pk=stored.pk)
    stored.refresh_from_db()
    assert stored.status == "ignored" and stored.processed_at is not None
    no_object = _stored(fake_stripe, "checkout.session.completed", {})
    services.stripe_event_process(event_pk=no_object.pk)
    no_object.refresh_from_db()
    assert no_object.status == "ignored"


def test_a_failing_handler_is_marked_failed_with_its_error_and_retried(fake_stripe, buyer):
    stored = _stored(fake_stripe, "checkout.session.completed", {"id": "cs_unknown", "object": "checkout.session"})
    with pytest.raises(stripe.InvalidRequestError):  # the task sees it (and Celery logs or retries it)
        services.stripe_event_process(event_pk=stored.pk)
    stored.refresh_from_db()
    assert stored.status == "failed" and stored.processed_at is None
    assert "InvalidRequestError" in stored.error and "cs_unknown" in stored.error
    # The same event processed again once Stripe has the object: it succeeds and the error is cleared.
    topup = services.topup_start(user=buyer, amount="5.00")
    fake_stripe.complete_session(topup.session_id, deliver=False)
    StripeEvent.objects.filter(pk=stored.pk).update(
        payload={**stored.payload, "data": {"object": {"id": topup.session_id}}})
    services.stripe_event_process(event_pk=stored.pk)
    stored.refresh_from_db()
    assert stored.status == "succeeded" and stored.error == ""
    assert selectors.user_balance(user=buyer) == D("5")
