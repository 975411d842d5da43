"""Stripe's webhook: receive and verify each event, store it once, process it after commit, record how that went.

As zulip's corporate/lib/stripe_event_handler.py does, each stored event carries its handler's status:
received -> processing -> succeeded | failed (with the error; the task retries it) | ignored (a type or an object
we do not handle). Processing never trusts the payload: it fetches the object from Stripe again, BEFORE taking
any lock (see `stripe_api`), then applies it under the event's row lock, once.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from config.errors import InvalidInput, Unavailable

from ..models import StripeEvent, StripeEventStatus
from .checkout import checkout_session_apply
from .payouts import connect_account_apply
from .stripe_api import expandable_id, stripe_client
from .wallet import charge_refunds_sync

logger = logging.getLogger(__name__)
Apply = Callable[[], object]


def stripe_event_receive(*, payload: bytes, signature: str) -> StripeEvent | None:
    """Verify the signature on the raw body and store the event id once; process after commit."""
    import stripe

    from .. import tasks

    if not settings.STRIPE_WEBHOOK_SECRET:
        raise Unavailable(_("Stripe webhooks are not configured."), code="payments_not_configured")
    try:
        stripe.Webhook.construct_event(payload, signature, settings.STRIPE_WEBHOOK_SECRET)
    except (ValueError, stripe.SignatureVerificationError):
        raise InvalidInput(_("Invalid Stripe signature or payload."), code="invalid_signature") from None
    data = json.loads(payload)  # verified above; stored as Stripe sent it
    with transaction.atomic():
        stored, created = StripeEvent.objects.get_or_create(
            event_id=data["id"], defaults={"type": data.get("type", ""), "payload": data})
        if created:
            transaction.on_commit(lambda: tasks.stripe_event_process.delay(stored.pk))
    return stored if created else None


def _fetch(event_type: str, object_id: str) -> Apply | None:
    """Fetch the event's object from Stripe again (no lock is held) and answer how to apply it, or None to ignore."""
    client = stripe_client()
    if event_type.startswith("checkout.session."):
        session = client.v1.checkout.sessions.retrieve(object_id)
        return lambda: checkout_session_apply(session)
    if event_type == "account.updated":
        account = client.v1.accounts.retrieve(object_id)
        return lambda: connect_account_apply(account)
    if event_type == "charge.refunded":
        charge = client.v1.charges.retrieve(object_id)
        return lambda: charge_refunds_sync(charge=charge)
    if event_type in ("refund.created", "refund.updated"):
        refund = client.v1.refunds.retrieve(object_id)
        charge_id = expandable_id(refund.charge)
        if refund.status != "succeeded" or not charge_id:
            return None
        refunded = client.v1.charges.retrieve(charge_id)
        return lambda: charge_refunds_sync(charge=refunded)
    return None


def _set_status(event_pk: int, status: str, **fields: Any) -> None:
    """Outside the processing transaction, so it stays even when that rolls back; never over a finished event."""
    StripeEvent.objects.filter(pk=event_pk, processed_at__isnull=True).update(status=status, **fields)


def stripe_event_process(*, event_pk: int) -> None:
    """Handle one stored event once; the object is fetched again so late or repeated events are harmless."""
    event = StripeEvent.objects.get(pk=event_pk)
    if event.processed_at:
        return
    obj: dict[str, Any] = (event.payload.get("data") or {}).get("object") or {}
    _set_status(event.pk, StripeEventStatus.PROCESSING)
    try:
        apply = _fetch(event.type, obj["id"]) if obj.get("id") else None
        with transaction.atomic():
            event = StripeEvent.objects.select_for_update().get(pk=event_pk)
            if event.processed_at:  # another worker handled it while we were fetching
                return
            if apply is not None:
                apply()
            event.status = StripeEventStatus.SUCCEEDED if apply is not None else StripeEventStatus.IGNORED
            event.processed_at = timezone.now()
            event.error = ""
            event.save(update_fields=["status", "processed_at", "error"])
    except Exception as exc:
        logger.warning("Stripe event %s (%s) failed", event.event_id, event.type, exc_info=True)
        _set_status(event_pk, StripeEventStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
