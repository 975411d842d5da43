"""Model fields shared by apps."""
from __future__ import annotations

from typing import Any

from django import forms
from django.db import models

from .crypto import decrypt_json, encrypt_json


class EncryptedJSONField(models.TextField):
    """A JSON value stored as a Fernet token in a text column (config/crypto.py); None is stored as NULL.

    The ORM reads and writes plain Python values (also `.update()`, `bulk_update()` and raw querysets, which
    convert through the field); the database only ever sees ciphertext. Lookups other than `isnull` cannot
    match ciphertext.
    """

    # What django-stubs should take for reads and writes: plain JSON values, not the stored text.
    _pyi_private_set_type: Any
    _pyi_private_get_type: Any

    description = "A JSON value, encrypted at rest"

    def get_prep_value(self, value: Any) -> Any:
        if value is None:
            return None
        return encrypt_json(value)

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None:
            return None
        return decrypt_json(value)

    def to_python(self, value: Any) -> Any:
        return value

    def value_to_string(self, obj: models.Model) -> Any:
        return self.value_from_object(obj)

    def formfield(self, **kwargs: Any) -> Any:
        return super(models.TextField, self).formfield(**{"form_class": forms.JSONField, **kwargs})
