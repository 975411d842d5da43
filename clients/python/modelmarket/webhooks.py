"""Standard Webhooks (https://www.standardwebhooks.com) signing and verification.

`verify(secret, body, headers)` checks `webhook-signature` (`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`,
several space-separated signatures allowed) and that `webhook-timestamp` is within `tolerance` seconds, then
returns the JSON payload. Interoperable with the `standardwebhooks` library in both directions.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

from ._errors import WebhookVerificationError

__all__ = ["WebhookVerificationError", "sign", "verify"]

DEFAULT_TOLERANCE = 5 * 60


def _secret_bytes(secret: str | bytes) -> bytes:
    if isinstance(secret, bytes):
        return secret
    if secret.startswith("whsec_"):
        secret = secret[len("whsec_"):]
    try:
        return base64.b64decode(secret, validate=True)
    except ValueError as exc:
        raise WebhookVerificationError("The secret is not base64 (expected whsec_...).") from exc


def sign(secret: str | bytes, msg_id: str, timestamp: int, body: str | bytes) -> str:
    """The `webhook-signature` value for a message: `v1,<base64>`."""
    payload = body.decode() if isinstance(body, bytes) else body
    digest = hmac.new(_secret_bytes(secret), f"{msg_id}.{timestamp}.{payload}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify(secret: str | bytes, body: str | bytes, headers: Mapping[str, str], *,
           tolerance: int = DEFAULT_TOLERANCE, now: float | None = None) -> Any:
    """Verify a webhook and return its decoded JSON payload; raise WebhookVerificationError if it does not verify."""
    lowered = {key.lower(): value for key, value in headers.items()}
    msg_id = lowered.get("webhook-id")
    timestamp = lowered.get("webhook-timestamp")
    signatures = lowered.get("webhook-signature")
    if not (msg_id and timestamp and signatures):
        raise WebhookVerificationError("Missing webhook-id, webhook-timestamp or webhook-signature.")
    try:
        sent = int(timestamp)
    except ValueError as exc:
        raise WebhookVerificationError("webhook-timestamp is not a number.") from exc
    current = time.time() if now is None else now
    if abs(current - sent) > tolerance:
        raise WebhookVerificationError("The webhook's timestamp is too old or in the future.")
    expected = sign(secret, msg_id, sent, body).split(",", 1)[1]
    for candidate in signatures.split():
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            text = body.decode() if isinstance(body, bytes) else body
            return json.loads(text)
    raise WebhookVerificationError("No matching signature.")
