"""API plumbing shared by every app: the error shape of shared/API.md, pagination, a lighter input serializer."""
import copy
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import OperationalError
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from config.errors import DomainError


class Pagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


class HotInputSerializer(serializers.Serializer):
    """An input serializer for the hot path (a prediction's create): its fields are copied shallowly.

    DRF deep-copies every declared field for each instance, running each field's `__init__` again (a URLField
    builds a new URLValidator and its regexes): two thirds of validating a prediction's body, ~10 % of the web
    processes' CPU at 32 clients. A flat field keeps no per-request state but its binding (`field_name`,
    `parent`, `label`, `source`), which a shallow copy gives each instance its own of; a field with children
    (a list or dict field, a nested serializer) is still deep-copied so they bind to their own parent."""

    def get_fields(self) -> dict[str, serializers.Field]:
        return {name: copy.deepcopy(field) if _has_children(field) else copy.copy(field)
                for name, field in self._declared_fields.items()}


def _has_children(field: serializers.Field) -> bool:
    """A list/dict field's `child`, a `many=True` relation's `child_relation`, a nested serializer's fields."""
    return hasattr(field, "child") or hasattr(field, "child_relation") or isinstance(field, serializers.BaseSerializer)


class ApiError(exceptions.APIException):
    """An error with a machine code that an API view raises itself (services raise config/errors.py classes)."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "bad_request"
    default_detail = _("The request could not be processed.")

    def __init__(self, message: Any = None, *, code: str | None = None, status_code: int | None = None,
                 fields: dict | None = None, extra: dict | None = None, headers: dict | None = None):
        super().__init__(message or self.default_detail, code or self.default_code)
        if status_code is not None:
            self.status_code = status_code
        self.fields = fields or {}
        self.extra = extra or {}
        self.headers = headers or {}
        self.error_code = code or self.default_code


_CODES = {
    400: "invalid",
    401: "not_authenticated",
    402: "payment_required",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    429: "throttled",
    503: "unavailable",
}


def _flatten(detail: Any) -> Any:
    if isinstance(detail, list):
        return [str(item) if not isinstance(item, dict | list) else _flatten(item) for item in detail]
    if isinstance(detail, dict):
        return {key: _flatten(value) for key, value in detail.items()}
    return [str(detail)]


def _unsupported_media_type(exc: exceptions.UnsupportedMediaType, context: dict) -> ApiError:
    """Name the header and the types this endpoint accepts: a missing `Content-Type` is a common first mistake."""
    request = context.get("request")
    view = context.get("view")
    got = (request.content_type if request is not None else "") or ""
    accepted = [parser.media_type for parser in getattr(view, "parser_classes", [])] or ["application/json"]
    if got:
        message = _("This endpoint does not accept Content-Type “%(got)s”; send the header "
                    "`Content-Type: %(accepted)s`.") % {"got": got, "accepted": accepted[0]}
    else:
        message = _("The request has a body but no Content-Type header; send the header "
                    "`Content-Type: %(accepted)s`.") % {"accepted": accepted[0]}
    return ApiError(message, code="unsupported_media_type", status_code=415,
                    fields={"Content-Type": [_("Use one of: %(types)s.") % {"types": ", ".join(accepted)}]})


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """Answer every error as `{"error": {"code", "message", "fields"}}`."""
    if isinstance(exc, DomainError):
        # The one mapping of the domain error model to HTTP (config/errors.py).
        exc = ApiError(exc.message, code=exc.code, status_code=exc.status, fields=exc.fields, extra=exc.extra,
                       headers=exc.headers)
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        # Keep the service's explanation ("Get the app before reviewing it.") when it gave one.
        exc = exceptions.PermissionDenied(str(exc) or None)

    elif isinstance(exc, exceptions.UnsupportedMediaType):
        exc = _unsupported_media_type(exc, context)
    elif isinstance(exc, OperationalError):
        # The database refused or dropped the connection (too many clients, the pool's wait ran out, a restart):
        # a clear "try again", not a 500. A create is one statement or one transaction, and a retry with the
        # same Idempotency-Key answers the prediction if it was made before the connection went.
        exc = ApiError(_("The service is busy; try again in a moment."), code="unavailable", status_code=503,
                       headers={"Retry-After": "1"})

    response = drf_exception_handler(exc, context)
    if response is None:
        return None

    fields: dict = {}
    extra: dict = {}
    if isinstance(exc, ApiError):
        code = exc.error_code
        message = str(exc.detail)
        fields = exc.fields
        extra = exc.extra
        for header, value in exc.headers.items():
            response[header] = value
    elif isinstance(exc, exceptions.ValidationError):
        code = "invalid"
        detail = exc.detail
        if isinstance(detail, dict):
            fields = _flatten(detail)
            first = next(iter(fields.values()), [""])
            message = str(first[0]) if isinstance(first, list) and first else str(_("Invalid input."))
        else:
            fields = {"non_field_errors": _flatten(detail)}
            message = fields["non_field_errors"][0]
    else:
        code = getattr(exc, "default_code", None) or _CODES.get(response.status_code, "error")
        if response.status_code in _CODES and code in ("error", "invalid"):
            code = _CODES[response.status_code]
        message = str(exc.detail) if hasattr(exc, "detail") else str(exc)
    if response.status_code == status.HTTP_401_UNAUTHORIZED:
        code = "not_authenticated" if code == "not_authenticated" else "authentication_failed"
    response.data = {"error": {"code": code, "message": message, "fields": fields, **extra}}
    return response


# --- OpenAPI: the error shape, so /api/schema/ documents every error answer. ---------------------------

ErrorSerializer = inline_serializer(
    name="Error",
    fields={
        "error": inline_serializer(
            name="ErrorBody",
            fields={
                "code": serializers.CharField(help_text="Machine-readable code, e.g. `invalid`, `not_found`."),
                "message": serializers.CharField(help_text="Human-readable explanation."),
                "fields": serializers.DictField(
                    help_text="Per-field messages for 400 answers (a list of strings per field, or a nested "
                              "object for nested fields such as `pricing`); empty otherwise.",
                ),
            },
        )
    },
)

_ERROR_DESCRIPTIONS = {
    400: "Bad input; `fields` says what is wrong.",
    401: "No or invalid credentials.",
    402: "Payment required.",
    403: "Not allowed (role or API key scope).",
    404: "Not found, or someone else's private object.",
    409: "Conflicts with the current state.",
    429: "Throttled; see `Retry-After`.",
}


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """`responses=` entries for extend_schema, in the shared error shape (429 is always possible)."""
    return {
        code: OpenApiResponse(response=ErrorSerializer, description=_ERROR_DESCRIPTIONS.get(code, ""))
        for code in (*codes, 429)
    }
