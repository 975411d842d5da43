"""The one mapping of domain errors (config/errors.py) to HTML: form errors or flash messages.

HTML views catch what a service raises with `WebError` (a domain error, or a Django ValidationError from a form
or a model's `full_clean`) and hand it to one of three functions:

- `form_add_error(form, error)`: the messages go next to the fields they name, the rest above the form;
- `message_error(request, error)`: the messages become flash messages on the next page;
- `with errors_as_messages(request) as outcome:` runs a service call and flashes its error, if any.

`DomainErrorMiddleware` is the safety net for a view that lets a domain error escape: a `PermissionDenied`
answers 403 and a `NotFound` 404, as Django's own exceptions do; under /api/ any domain error answers in the
API's error shape.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.handlers.exception import response_for_exception
from django.http import Http404, HttpRequest, HttpResponse

from config.errors import DomainError, NotFound, PermissionDenied

# What an HTML view catches around a service call.
WebError = (DomainError, ValidationError)


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [item for inner in value.values() for item in _as_list(inner)]
    return list(value) if isinstance(value, list | tuple) else [value]


def _fields_of(error: DomainError | ValidationError) -> dict[str, list[Any]]:
    if isinstance(error, DomainError):
        return {name: _as_list(value) for name, value in error.fields.items()}
    if hasattr(error, "error_dict"):
        return {name: list(value) for name, value in error.message_dict.items()}
    return {}


def error_messages(error: DomainError | ValidationError) -> list[str]:
    """Every message an error carries, field messages included, as plain strings without repeats."""
    if isinstance(error, DomainError):
        found = [str(error.message)]
        for value in _fields_of(error).values():
            found.extend(str(item) for item in value)
        return list(dict.fromkeys(found))
    return list(dict.fromkeys(str(message) for message in error.messages))


def form_add_error(form: forms.BaseForm, error: DomainError | ValidationError,
                   field_map: dict[str, str] | None = None) -> None:
    """Put a service's error on the form: on the fields it names when the form has them, the rest above the form.

    Services name fields as the API does (`pricing.max_price`); forms name them flat (`max_price`), so the name
    itself, then its last dotted part is tried, or `field_map` says where a name goes (`{"pricing":
    "pricing_model"}`). A message that says more than its field messages (a size and its limit) is shown above.
    """
    field_map = field_map or {}
    fields = _fields_of(error)
    if not fields:
        form.add_error(None, error_messages(error))
        return
    shown: list[str] = []
    leftovers: list[str] = []
    for key, values in fields.items():
        name = field_map.get(key) or (key if key in form.fields else key.rsplit(".", 1)[-1])
        texts = [str(value) for value in values]
        if name in form.fields and name != NON_FIELD_ERRORS:
            form.add_error(name, texts)
            shown.extend(texts)
        else:
            leftovers.extend(texts)
    if isinstance(error, DomainError) and str(error.message) not in shown:
        leftovers.insert(0, str(error.message))
    if leftovers:
        form.add_error(None, list(dict.fromkeys(leftovers)))


def message_error(request: HttpRequest, error: DomainError | ValidationError) -> None:
    """Show a service's error as one flash message on the next page."""
    messages.error(request, " ".join(error_messages(error)))


@contextmanager
def errors_as_messages(request: HttpRequest) -> Iterator[dict[str, Any]]:
    """`with errors_as_messages(request) as outcome:` run a service; on a domain error, flash it and go on.

    `outcome["failed"]` tells the view whether the block was cut short.
    """
    outcome: dict[str, Any] = {"failed": False}
    try:
        yield outcome
    except WebError as error:
        outcome["failed"] = True
        message_error(request, error)


class DomainErrorMiddleware:
    """Answers a domain error that escaped an HTML view as Django answers its own exceptions (403, 404)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DomainError):
            return None
        from config.middleware import API_PREFIX, api_error

        if request.path_info.startswith(API_PREFIX):
            response = api_error(exception.status, str(exception.message), code=exception.code,
                                 fields=exception.fields)
            for header, value in exception.headers.items():
                response[header] = value
            return response
        if isinstance(exception, PermissionDenied):
            return response_for_exception(request, DjangoPermissionDenied(str(exception.message)))
        if isinstance(exception, NotFound):
            return response_for_exception(request, Http404(str(exception.message)))
        return None  # a bug in the view: it should have caught the error and shown it
