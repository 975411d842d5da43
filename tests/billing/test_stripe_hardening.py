"""Stripe's edges: replayed webhooks, an unconfigured secret, and a fake server as strict as the real API."""
import time

import pytest
import stripe
from django.test import Client

from billing import services
from billing.models import StripeEvent, Transaction

WEBHOOK = "/billing/stripe/webhook/"
pytestmark = pytest.mark.django_db


def _paid_event(fake_stripe, buyer):
    topup = services.topup_start(user=buyer, amount="10.00")
    return fake_stripe.complete_session(topup.session_id, deliver=False)


def test_a_replayed_event_with_an_old_timestamp_is_refused(fake_stripe, buyer, eager_celery):
    event = _paid_event(fake_stripe, buyer)
    payload, _ = fake_stripe.event_payload(event)
    old = fake_stripe.sign(payload, timestamp=int(time.time()) - 3600)  # correctly signed, an hour ago
    response = Client().post(WEBHOOK, data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=old)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_signature"
    assert not StripeEvent.objects.exists()
    assert not Transaction.objects.filter(kind="topup").exists()
    # The same bytes signed now are accepted: only the timestamp made the difference.
    fresh = fake_stripe.sign(payload)
    response = Client().post(WEBHOOK, data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=fresh)
    assert response.status_code == 200
    assert StripeEvent.objects.count() == 1


def test_an_unset_webhook_secret_answers_503(fake_stripe, buyer, settings):
    event = _paid_event(fake_stripe, buyer)
    payload, signature = fake_stripe.event_payload(event)
    settings.STRIPE_WEBHOOK_SECRET = ""
    response = Client().post(WEBHOOK, data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "payments_not_configured"
    assert not StripeEvent.objects.exists()


@pytest.mark.parametrize("params,unknown", [
    ({"mode": "payment", "sucess_url": "http://x/"}, "sucess_url"),
    ({"mode": "payment", "line_items": [{"quantity": 1, "price_data": {"currency": "usd", "unit_amont": 5}}]},
     "line_items[0][price_data][unit_amont]"),
    ({"mode": "payment", "line_items": [{"quantity": 1, "price_data": {"currency": "usd", "unit_amount": 5,
                                                                        "product_data": {"nam": "x"}}}]},
     "line_items[0][price_data][product_data][nam]"),
])
def test_the_fake_server_refuses_unknown_parameters_like_stripe(fake_stripe, params, unknown):
    client = services.stripe_client()
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.checkout.sessions.create(params=params)
    assert caught.value.param == unknown
    assert caught.value.code == "parameter_unknown"


@pytest.mark.parametrize("call", [
    lambda c: c.v1.transfers.create(params={"amount": 100, "currency": "usd", "destinaton": "acct_x"}),
    lambda c: c.v1.refunds.create(params={"payment_intent": "pi_x", "amout": 100}),
    lambda c: c.v1.accounts.create(params={"type": "express", "e_mail": "a@b.c"}),
    lambda c: c.v1.account_links.create(params={"account": "acct_x", "type": "account_onboarding",
                                                "retrun_url": "http://x/"}),
])
def test_every_endpoint_we_call_checks_its_parameters(fake_stripe, call):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        call(services.stripe_client())
    assert caught.value.code == "parameter_unknown"


def test_the_calls_the_platform_makes_use_only_known_parameters(fake_stripe, buyer):
    """Our own top-up call passes the strict server (the flows in test_stripe*.py cover the rest)."""
    topup = services.topup_start(user=buyer, amount="12.00")
    assert topup.session_id in fake_stripe.objects
