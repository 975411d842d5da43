"""Webhooks (Standard Webhooks): the caller's signing secret, deliveries recorded on events, signed attempts.

A delivery is recorded where the event happens (web or worker) and sent from a task on the `webhooks` queue.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import logging
import os
import time
import uuid

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from config.errors import PermissionDenied
from config.metrics import record_webhook_delivery

from ..models import DeliveryStatus, Prediction, WebhookDelivery, WebhookSecret
from ..selectors import prediction_payload
from ..webhook_http import WebhookRefused, webhook_post, webhook_target_resolve

logger = logging.getLogger(__name__)

WEBHOOK_EVENTS = ("start", "completed")


def webhook_url_problem(url: str) -> str | None:
    """Why a webhook may not be sent to `url`, or None: blocks internal addresses (SSRF) unless allowed.

    Checked when a prediction is created; each delivery resolves again and connects to the address it
    checked (see `webhook_http`), so DNS rebinding cannot slip an internal address in between.
    """
    try:
        webhook_target_resolve(url, allow_private=_webhook_allow_private())
    except WebhookRefused as exc:
        return str(exc)
    return None


def _webhook_allow_private() -> bool:
    return settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES


def webhook_secret_for(*, user: User) -> WebhookSecret:
    return WebhookSecret.objects.get_or_create(user=user)[0]


@transaction.atomic
def webhook_secret_rotate(*, user: User) -> WebhookSecret:
    secret = webhook_secret_for(user=user)
    secret.secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    secret.save(update_fields=["secret"])
    return secret


def webhook_sign(*, secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, keyed by the secret's base64 part."""
    raw = secret.removeprefix("whsec_")
    try:
        key = base64.b64decode(raw, validate=True)
    except ValueError:
        key = raw.encode()
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def webhook_event_queue(*, prediction_id: str, event: str) -> WebhookDelivery | None:
    """Record a delivery for this event if the caller asked for it, and send it from a task."""
    prediction = Prediction.objects.filter(pk=prediction_id).first()
    if prediction is None or not prediction.webhook or event not in (prediction.webhook_events_filter or []):
        return None
    delivery = WebhookDelivery.objects.create(prediction=prediction, event=event, url=prediction.webhook,
                                              message_id=f"msg_{uuid.uuid4().hex}")
    delivery_id = delivery.pk
    transaction.on_commit(lambda: _enqueue_delivery(delivery_id))
    return delivery


def _enqueue_delivery(delivery_id: int) -> None:
    from ..tasks import deliver_webhook

    deliver_webhook.apply_async(args=(delivery_id,), queue="webhooks")


def webhook_retry_delays() -> list[int]:
    return list(settings.WEBHOOK_RETRY_DELAYS)


def webhook_attempt(*, delivery_id: int) -> bool:
    """POST the prediction JSON once, signed. Answers True when done (delivered or out of attempts)."""
    delivery = WebhookDelivery.objects.select_related("prediction__user").get(pk=delivery_id)
    if delivery.status == DeliveryStatus.SUCCEEDED:
        return True
    body = json.dumps(prediction_payload(prediction=delivery.prediction), default=str).encode()
    timestamp = int(time.time())
    secret = webhook_secret_for(user=delivery.prediction.user).secret
    try:
        target = webhook_target_resolve(delivery.url, allow_private=_webhook_allow_private())
    except WebhookRefused as exc:
        WebhookDelivery.objects.filter(pk=delivery_id).update(
            attempts=delivery.attempts + 1, last_error=str(exc)[:500], last_attempt_at=timezone.now(),
            status=DeliveryStatus.FAILED)
        record_webhook_delivery(outcome="refused")
        return True
    headers = {
        "content-type": "application/json",
        "user-agent": "ModelMarket-Webhooks/1",
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": webhook_sign(secret=secret, message_id=delivery.message_id, timestamp=timestamp,
                                          body=body),
    }
    status_code: int | None = None
    response_body, error = "", ""
    try:
        status_code, response_body = webhook_post(target, body=body, headers=headers,
                                                  timeout=settings.WEBHOOK_TIMEOUT_SECONDS)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:200]
    if status_code is not None and 300 <= status_code < 400:
        error = _("The receiver answered with a redirect; webhooks do not follow redirects.")
    ok = status_code is not None and 200 <= status_code < 300
    attempts = delivery.attempts + 1
    done = ok or attempts > len(webhook_retry_delays())
    outcome = "delivered" if ok else ("failed" if done else "retrying")
    record_webhook_delivery(outcome=outcome)
    logger.info("webhook %s %s", delivery.message_id, outcome, extra={
        "prediction_id": str(delivery.prediction_id), "event": delivery.event, "attempt": attempts,
        "response_status": status_code})
    WebhookDelivery.objects.filter(pk=delivery_id).update(
        attempts=attempts, response_status=status_code, response_body=response_body, last_error=error,
        last_attempt_at=timezone.now(), delivered_at=timezone.now() if ok else None,
        status=DeliveryStatus.SUCCEEDED if ok else (DeliveryStatus.FAILED if done else DeliveryStatus.PENDING),
    )
    return done


@transaction.atomic
def webhook_redeliver(*, delivery: WebhookDelivery, actor: User) -> WebhookDelivery:
    """Send the same message again, with fresh attempts.

    Standard Webhooks: a resend keeps its `webhook-id`, so receivers that de-duplicate on it see one event.
    """
    if delivery.prediction.user_id != actor.pk:
        raise PermissionDenied(_("Only the caller can redeliver."))
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.PENDING, attempts=0, response_status=None, response_body="", last_error="",
        delivered_at=None)
    delivery_id = delivery.pk
    transaction.on_commit(lambda: _enqueue_delivery(delivery_id))
    delivery.refresh_from_db()
    return delivery
