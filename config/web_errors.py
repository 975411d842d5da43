"""The one mapping of domain errors (config/errors.py) to HTML: form errors or flash messages."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from config.errors import DomainError


def error_messages(error: DomainError | ValidationError) -> list[str]:
    """Every message an error carries, field messages included, as plain strings."""
    if isinstance(error, DomainError):
        found = [str(error.message)]
        for value in error.fields.values():
            found.extend(str(item) for item in (value if isinstance(value, list | tuple) else [value]))
        return list(dict.fromkeys(found))
    return [str(message) for message in error.messages]


def form_add_error(form: forms.BaseForm, error: DomainError | ValidationError) -> None:
    """Put a service's error on the form: on the fields it names when the form has them, else on the form."""
    if isinstance(error, ValidationError):
        form.add_error(None, error)
        return
    shown: set[str] = set()
    for name, value in error.fields.items():
        # Services name fields as the API does (`hyperparameters.epochs`); forms name them flat (`epochs`).
        target = name if name in form.fields else name.rsplit(".", 1)[-1]
        if target in form.fields:
            for item in value if isinstance(value, list | tuple) else [value]:
                form.add_error(target, str(item))
                shown.add(str(item))
    if str(error.message) not in shown:
        # Nothing placed, or the message says more than the field messages (e.g. a size and its limit).
        form.add_error(None, str(error.message))


def message_error(request: HttpRequest, error: DomainError | ValidationError) -> None:
    """Show a service's error as a flash message on the next page."""
    for text in error_messages(error):
        messages.error(request, text)


@contextmanager
def errors_as_messages(request: HttpRequest) -> Iterator[dict[str, Any]]:
    """`with errors_as_messages(request) as outcome:` run a service; on a domain error, flash it and go on.

    `outcome["failed"]` tells the view whether the block was cut short.
    """
    outcome: dict[str, Any] = {"failed": False}
    try:
        yield outcome
    except (DomainError, ValidationError) as error:
        outcome["failed"] = True
        message_error(request, error)
