"""Strict decimal input: ASCII digits, one optional sign and point; nothing else.

Python's Decimal() also accepts "1_000", full-width "１０", Arabic-Indic digits, "NaN" and "1e3"; an amount
of money must be exactly what the person typed, so every API field, form and service that parses money (or
another decimal) goes through `parse_decimal_strict`.
"""
import re
from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

ASCII_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)
MESSAGE = _("Enter a number with ASCII digits and an optional decimal point, such as 10.50.")


def parse_decimal_strict(value) -> Decimal:
    """A Decimal from a str/int/float/Decimal written with ASCII digits; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(str(MESSAGE))
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(str(MESSAGE))
        return value
    if isinstance(value, int | float):
        value = repr(value)
    if not isinstance(value, str):
        raise ValueError(str(MESSAGE))
    text = value.strip(" \t\r\n")
    if len(text) > 40 or not ASCII_DECIMAL.fullmatch(text):
        raise ValueError(str(MESSAGE))
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid literals
        raise ValueError(str(MESSAGE)) from None


class StrictDecimalField(serializers.DecimalField):
    """DRF DecimalField that refuses anything but ASCII decimals before DRF's own checks."""

    def to_internal_value(self, data):
        try:
            parse_decimal_strict(data)
        except ValueError:
            self.fail("invalid")
        return super().to_internal_value(data)

    default_error_messages = {**serializers.DecimalField.default_error_messages, "invalid": MESSAGE}


class StrictDecimalFormField(forms.DecimalField):
    default_error_messages = {"invalid": MESSAGE}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            parse_decimal_strict(value if not isinstance(value, str) else value.strip())
        except ValueError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None
        return super().to_python(value)
