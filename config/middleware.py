"""Everything under /api/ answers in the API's error shape, whatever failed and wherever it failed.

Django answers some errors before (or instead of) DRF: unknown URLs, over-large bodies, broken headers,
exceptions outside DRF's handler. This middleware checks what it can up front and rewrites the rest so an API
client never receives an HTML page or an error labelled `text/event-stream`.
"""
import json

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent
from django.http import HttpResponse, HttpResponseBadRequest
from django.utils.translation import gettext as _

API_PREFIX = "/api/"
_STATUS_CODES = {
    400: "invalid", 401: "not_authenticated", 403: "permission_denied", 404: "not_found",
    405: "method_not_allowed", 406: "not_acceptable", 409: "conflict", 413: "too_large",
    415: "unsupported_media_type", 429: "throttled", 500: "server_error", 502: "bad_gateway",
    503: "unavailable",
}
_FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


def api_error(status: int, message: str, *, code: str | None = None, fields: dict | None = None) -> HttpResponse:
    body = {"error": {"code": code or _STATUS_CODES.get(status, "error"), "message": str(message),
                      "fields": fields or {}}}
    return HttpResponse(json.dumps(body), status=status, content_type="application/json")


def _default_message(status: int) -> str:
    return {
        400: _("The request could not be processed."),
        404: _("No API endpoint or object at this address."),
        405: _("This method is not allowed here."),
        413: _("The request body is too large."),
        500: _("Something went wrong on our side; the error has been logged."),
    }.get(status, _("The request failed."))


def _query_problem(request) -> tuple[str, str] | None:
    """(parameter, reason) for a query parameter PostgreSQL cannot take (NUL), else None."""
    for key, values in request.GET.lists():
        for value in [key, *values]:
            if "\x00" in value:
                return key.replace("\x00", ""), _("NUL characters (\\x00) are not allowed in query parameters.")
    return None


class ApiErrorShapeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        is_api = request.path_info.startswith(API_PREFIX)
        refused = self._precheck(request, is_api=is_api)
        if refused is not None:
            return refused
        response = self.get_response(request)
        if is_api:
            response = self._as_api_error(response)
        return response

    def _precheck(self, request, *, is_api: bool) -> HttpResponse | None:
        raw_length = request.META.get("CONTENT_LENGTH", "")
        if raw_length not in ("", None):
            if not raw_length.isascii() or not raw_length.isdigit():
                message = _("The Content-Length header must be a non-negative whole number of bytes.")
                return api_error(400, message, fields={"Content-Length": [message]}) if is_api \
                    else HttpResponseBadRequest(message)
            length = int(raw_length)
            content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            if is_api and limit is not None and content_type not in _FORM_TYPES and length > limit:
                return api_error(413, _("The request body is %(size)d bytes; the limit is %(limit)d.")
                                 % {"size": length, "limit": limit})
        problem = _query_problem(request)
        if problem:
            name, message = problem
            return api_error(400, message, fields={name: [message]}) if is_api else HttpResponseBadRequest(message)
        return None

    def _as_api_error(self, response):
        if response.status_code < 400:
            return response
        content_type = response.get("Content-Type", "")
        if content_type.startswith("application/json") or content_type.startswith("application/problem+json"):
            return response
        if getattr(response, "streaming", False):
            response.close()
        data = getattr(response, "data", None)  # a DRF error rendered by a non-JSON renderer (event streams)
        if isinstance(data, dict) and isinstance(data.get("error"), dict):
            fixed = HttpResponse(json.dumps(data), status=response.status_code, content_type="application/json")
        else:
            fixed = api_error(response.status_code, _default_message(response.status_code))
        for header in ("Retry-After", "WWW-Authenticate", "Allow"):
            if header in response:
                fixed[header] = response[header]
        return fixed

    def process_exception(self, request, exception):
        """Errors DRF's handler does not see (they escape the view) become 4xx in the error shape."""
        if not request.path_info.startswith(API_PREFIX):
            return None
        from PIL import Image

        if isinstance(exception, RequestDataTooBig):
            return api_error(413, _default_message(413))
        if isinstance(exception, TooManyFieldsSent):
            return api_error(400, _("Too many form fields."))
        if isinstance(exception, Image.DecompressionBombError):
            return api_error(400, _("The image has too many pixels."), fields={"image": [_("Too many pixels.")]})
        if isinstance(exception, SuspiciousOperation):
            return api_error(400, _default_message(400))
        if isinstance(exception, RecursionError):
            return api_error(400, _("The request is nested too deeply."))
        return None  # a real bug: Django logs it and answers 500, which _as_api_error turns into JSON
