"""API shapes of analytics (shared/API.md "Additions (v1, second wave)"); money as 6-place decimal strings."""
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from .selectors import DEFAULT_DAYS, MAX_DAYS

MONEY = {"max_digits": 18, "decimal_places": 6, "coerce_to_string": True}
DAYS_MESSAGE = _("days must be a whole number from 1 to 365.")


class UsageQuerySerializer(serializers.Serializer):
    days = serializers.IntegerField(
        required=False, default=DEFAULT_DAYS, min_value=1, max_value=MAX_DAYS,
        help_text="How many days, ending today (1-365).",
        error_messages={"invalid": DAYS_MESSAGE, "min_value": DAYS_MESSAGE, "max_value": DAYS_MESSAGE,
                        "max_string_length": DAYS_MESSAGE})


class UsageDayOutputSerializer(serializers.Serializer):
    date = serializers.DateField()
    calls = serializers.IntegerField()
    errors = serializers.IntegerField(help_text="Calls that failed (canceled calls are not errors).")
    unique_callers = serializers.IntegerField(help_text="Distinct users who called the app.")
    p50_ms = serializers.IntegerField(allow_null=True, help_text="Median end-to-end latency of succeeded calls.")
    p95_ms = serializers.IntegerField(allow_null=True, help_text="95th percentile end-to-end latency.")
    revenue = serializers.DecimalField(help_text="What users paid for the app (R), from the ledger.", **MONEY)
    cost = serializers.DecimalField(help_text="Inference cost C booked for the app, from the ledger.", **MONEY)


class UsageTotalsOutputSerializer(serializers.Serializer):
    """The range's totals: sums, distinct callers over the whole range, and the range's percentiles."""

    calls = serializers.IntegerField()
    errors = serializers.IntegerField()
    unique_callers = serializers.IntegerField()
    p50_ms = serializers.IntegerField(allow_null=True)
    p95_ms = serializers.IntegerField(allow_null=True)
    revenue = serializers.DecimalField(**MONEY)
    cost = serializers.DecimalField(**MONEY)


class UsageOutputSerializer(serializers.Serializer):
    days = UsageDayOutputSerializer(many=True)
    totals = UsageTotalsOutputSerializer()
