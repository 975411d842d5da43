"""Billing API shapes; money is always a decimal string (6 places) plus the currency."""
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts.models import OrgRole
from config.money import StrictDecimalField

MONEY = {"max_digits": 18, "decimal_places": 6, "coerce_to_string": True}


class QuoteOutputSerializer(serializers.Serializer):
    price = serializers.DecimalField(**MONEY)
    currency = serializers.CharField()
    quote_id = serializers.UUIDField()
    expires_at = serializers.DateTimeField()


class BalanceOutputSerializer(serializers.Serializer):
    balance = serializers.DecimalField(**MONEY)
    held = serializers.DecimalField(**MONEY)
    currency = serializers.CharField()
    monthly_budget = serializers.DecimalField(allow_null=True, **MONEY)
    spent_this_month = serializers.DecimalField(**MONEY)
    earnings = serializers.DecimalField(**MONEY)


class LedgerEntryOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    account = serializers.CharField()
    amount = serializers.DecimalField(**MONEY)
    currency = serializers.CharField()
    prediction = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    memo = serializers.CharField()


class TopUpInputSerializer(serializers.Serializer):
    amount = serializers.CharField(help_text="Decimal string, e.g. \"10.00\"")
    org = serializers.SlugField(required=False, help_text=_("An organisation's slug: top up its wallet instead of "
                                                            "yours (roles owner and billing)."))


class TopUpOutputSerializer(serializers.Serializer):
    checkout_url = serializers.URLField()
    session_id = serializers.CharField()
    amount = serializers.DecimalField(**MONEY)
    currency = serializers.CharField()
    org = serializers.SlugField(allow_null=True, help_text=_("The organisation whose wallet is topped up, if any."))


class OrgDetailOutputSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    role = serializers.ChoiceField(choices=OrgRole.choices, help_text=_("The caller's role in the organisation."))
    monthly_budget = serializers.DecimalField(allow_null=True, help_text=_(
        "The most the organisation's wallet may spend per calendar month (null: no budget)."), **MONEY)


class OrgUpdateInputSerializer(serializers.Serializer):
    monthly_budget = StrictDecimalField(
        max_digits=18, decimal_places=6, min_value=0, required=False, allow_null=True,
        help_text=_("The organisation wallet's monthly budget (null clears it). Roles owner and billing."))


class GrantInputSerializer(serializers.Serializer):
    user = serializers.EmailField(required=False, help_text="The user's email (or give `org`).")
    org = serializers.SlugField(required=False, help_text="An organisation's slug, instead of `user`.")
    amount = serializers.CharField()
    memo = serializers.CharField(max_length=300)

    def validate(self, attrs: dict) -> dict:
        if bool(attrs.get("user")) == bool(attrs.get("org")):
            raise serializers.ValidationError({"user": [_("Give either user or org.")]})
        return attrs


class GrantOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    user = serializers.EmailField(source="user.email", allow_null=True, default=None)
    org = serializers.SlugField(source="org.slug", allow_null=True, default=None)
    amount = serializers.DecimalField(**MONEY)
    currency = serializers.CharField()
    memo = serializers.CharField()
    granted_by = serializers.EmailField(source="granted_by.email")
    created_at = serializers.DateTimeField()
