"""stripe_events"""
import json
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from config.api import ApiError, ServiceUnavailable

from ..models import (
    StripeEvent,
)
from .checkout import _sync_checkout_session
from .payouts import connect_account_sync
from .stripe_api import stripe_client
from .wallet import charge_refunds_sync

logger = logging.getLogger(__name__)


def stripe_event_receive(*, payload: bytes, signature: str) -> StripeEvent | None:
    """Verify the signature on the raw body and store the event id once; process after commit."""
    import stripe

    from .. import tasks

    if not settings.STRIPE_WEBHOOK_SECRET:
        raise ServiceUnavailable(_("Stripe webhooks are not configured."), code="payments_not_configured")
    try:
        event = stripe.Webhook.construct_event(payload, signature, settings.STRIPE_WEBHOOK_SECRET)
    except (ValueError, stripe.SignatureVerificationError):
        raise ApiError(_("Invalid Stripe signature or payload."), code="invalid_signature") from None
    data = json.loads(payload)  # verified above; stored as Stripe sent it
    del event
    with transaction.atomic():
        stored, created = StripeEvent.objects.get_or_create(
            event_id=data["id"], defaults={"type": data.get("type", ""), "payload": data})
        if created:
            transaction.on_commit(lambda: tasks.stripe_event_process.delay(stored.pk))
    return stored if created else None



@transaction.atomic
def stripe_event_process(*, event_pk: int) -> None:
    """Handle one stored event once; the object is fetched again so late or repeated events are harmless."""
    event = StripeEvent.objects.select_for_update().get(pk=event_pk)
    if event.processed_at:
        return
    obj = (event.payload.get("data") or {}).get("object") or {}
    if event.type.startswith("checkout.session.") and obj.get("id"):
        _sync_checkout_session(stripe_client().v1.checkout.sessions.retrieve(obj["id"]))
    elif event.type == "account.updated" and obj.get("id"):
        connect_account_sync(account_id=obj["id"])
    elif event.type == "charge.refunded" and obj.get("id"):
        charge_refunds_sync(charge=stripe_client().v1.charges.retrieve(obj["id"]))
    elif event.type in ("refund.created", "refund.updated") and obj.get("id"):
        refund = stripe_client().v1.refunds.retrieve(obj["id"])
        charge_id = refund.charge if isinstance(refund.charge, str) else getattr(refund.charge, "id", "")
        if refund.status == "succeeded" and charge_id:
            charge_refunds_sync(charge=stripe_client().v1.charges.retrieve(charge_id))
    event.processed_at = timezone.now()
    event.save(update_fields=["processed_at"])


