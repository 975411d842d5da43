"""Typed exceptions built from the API's error shape `{"error": {"code", "message", "fields"}}`."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._models import Prediction


class ModelMarketError(Exception):
    """Base class of everything this client raises on purpose."""


class APIError(ModelMarketError):
    """The API answered with an error status.

    `status` is the HTTP status, `code` the machine code (e.g. `invalid`, `not_found`),
    `message` the human text and `fields` the per-field messages of a 400.
    """

    def __init__(self, message: str, *, status: int, code: str = "error", fields: dict[str, Any] | None = None,
                 body: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or {}
        self.body = body or {}
        self.headers = headers or {}

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"


class InvalidRequestError(APIError):
    """400 bad input or 413 too large: `fields` says what to fix."""


class AuthenticationError(APIError):
    """401: no API key, or an invalid or revoked one."""


class PaymentRequiredError(APIError):
    """402: insufficient funds, a spend cap reached, a quote above `max_price`, or a purchase needed."""

    @property
    def price(self) -> str | None:
        """The price that was asked, when the API said it."""
        error = self.body.get("error", {}) if isinstance(self.body, dict) else {}
        return error.get("price") or error.get("current_price")

    @property
    def checkout_url(self) -> str | None:
        error = self.body.get("error", {}) if isinstance(self.body, dict) else {}
        return error.get("checkout_url") or error.get("url")


class PermissionDeniedError(APIError):
    """403: the role or the API key's scope does not allow this."""


class NotFoundError(APIError):
    """404: not found, or someone else's private object."""


class ConflictError(APIError):
    """409: the object's state forbids this (e.g. submitting an app that is already in review)."""


class RateLimitError(APIError):
    """429: throttled; `retry_after` is the number of seconds the API asked to wait."""

    @property
    def retry_after(self) -> float | None:
        value = self.headers.get("retry-after")
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None


class ServerError(APIError):
    """5xx: the platform could not serve the request (503: no worker for the hardware)."""


class PredictionFailed(ModelMarketError):
    """A prediction that was waited for ended `failed` (or `canceled`); `.prediction` has the details."""

    def __init__(self, prediction: Prediction) -> None:
        super().__init__(f"prediction {prediction.id} {prediction.status}: {prediction.error or ''}".strip())
        self.prediction = prediction


class WebhookVerificationError(ModelMarketError):
    """A webhook's signature, timestamp or headers did not verify."""


_BY_STATUS: dict[int, type[APIError]] = {
    400: InvalidRequestError, 413: InvalidRequestError, 401: AuthenticationError, 402: PaymentRequiredError,
    403: PermissionDeniedError, 404: NotFoundError, 409: ConflictError, 429: RateLimitError,
}


def error_from_response(status: int, body: Any, headers: dict[str, str]) -> APIError:
    """The exception for an error answer, from the error shape when there is one."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        message = str(error.get("message") or f"HTTP {status}")
        code = str(error.get("code") or "error")
        fields = error.get("fields") if isinstance(error.get("fields"), dict) else {}
    else:
        message, code, fields = (str(body)[:300] if body else f"HTTP {status}"), "error", {}
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else APIError)
    return cls(message, status=status, code=code, fields=fields,
               body=body if isinstance(body, dict) else {}, headers=headers)
