"""The one error model: what services raise, whatever the caller is.

Services never raise DRF or Django HTTP classes. The API maps these once (`config.api.exception_handler`) to the
error shape of shared/API.md; HTML views map them once to form errors or messages (`config.web_errors`).
Each class carries its HTTP status only as a hint for those two mappings.
"""
from __future__ import annotations

from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    """A failure the caller can explain to the user: a machine code, a message and, for bad input, fields."""

    status: ClassVar[int] = 400
    default_code: ClassVar[str] = "invalid"
    default_message: ClassVar[Any] = _("The request could not be processed.")

    def __init__(self, message: Any = None, *, code: str | None = None, fields: dict[str, Any] | None = None,
                 extra: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
                 status: int | None = None):
        self.message = message if message is not None else self.default_message
        self.code = code or self.default_code
        self.fields = fields or {}
        self.extra = extra or {}
        self.headers = headers or {}
        if status is not None:
            self.status = status  # type: ignore[misc]  # a rare per-instance status (413, 415)
        super().__init__(str(self.message))

    def __str__(self) -> str:
        return str(self.message)


def first_message(fields: dict[str, Any]) -> Any:
    """The first message of the first field (what the API shows as `message` for a 400), or None."""
    for value in fields.values():
        if isinstance(value, dict):
            found = first_message(value)
            if found is not None:
                return found
        elif isinstance(value, list | tuple):
            if value:
                return value[0]
        elif value is not None:
            return value
    return None


class InvalidInput(DomainError):
    """Bad input: `fields` says which field is wrong and why (400).

    Without a message the first field's message is the message, as the API has always answered a 400:
    `raise InvalidInput(fields={"body": [_("Write at least 3 characters.")]})`.
    """

    status = 400
    default_code = "invalid"
    default_message = _("Invalid input.")

    def __init__(self, message: Any = None, **kwargs: Any):
        if message is None and kwargs.get("fields"):
            message = first_message(kwargs["fields"])
        super().__init__(message, **kwargs)

    @classmethod
    def from_validation_error(cls, error: ValidationError) -> InvalidInput:
        """A model's `full_clean()` failure as a domain error, with the fields the API has always shown."""
        if hasattr(error, "error_dict"):
            return cls(fields={key: [str(item) for item in value] for key, value in error.message_dict.items()})
        messages = [str(item) for item in error.messages]
        return cls(messages[0] if messages else None, fields={"non_field_errors": messages})

    @classmethod
    def non_field(cls, message: Any, **kwargs: Any) -> InvalidInput:
        """Bad input that belongs to no one field (the API's `non_field_errors`)."""
        return cls(message, fields={"non_field_errors": [message]}, **kwargs)


class NotFound(DomainError):
    """Missing, or someone else's private object (404)."""

    status = 404
    default_code = "not_found"
    default_message = _("Not found.")


class PermissionDenied(DomainError):
    """The caller may see the object but not do this (403)."""

    status = 403
    default_code = "permission_denied"
    default_message = _("You do not have permission to perform this action.")


class PaymentRequired(DomainError):
    """The wallet, a budget or a cap does not cover the price (402)."""

    status = 402
    default_code = "payment_required"
    default_message = _("Insufficient funds.")


class Conflict(DomainError):
    """The object's current state forbids the action (409)."""

    status = 409
    default_code = "conflict"
    default_message = _("The request conflicts with the current state.")


class Unavailable(DomainError):
    """Nothing can serve the request right now; retrying later may work (503)."""

    status = 503
    default_code = "unavailable"
    default_message = _("No worker can serve this request right now.")


class Throttled(DomainError):
    """Too many requests; `headers` carries Retry-After (429)."""

    status = 429
    default_code = "throttled"
    default_message = _("Request was throttled.")
