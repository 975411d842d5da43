"""Input and output shapes of the accounts API. No logic here: views call services."""
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from config.money import StrictDecimalField

from .models import ApiKey, ApiKeyScope


class MeOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    username = serializers.CharField()
    is_developer = serializers.BooleanField()
    is_moderator = serializers.BooleanField()
    balance = serializers.DecimalField(max_digits=18, decimal_places=6, coerce_to_string=True)
    currency = serializers.CharField()


class BecomeDeveloperInputSerializer(serializers.Serializer):
    accept_terms = serializers.BooleanField(help_text=_("Must be true: you accept the developer terms."))

    def validate_accept_terms(self, value: bool) -> bool:
        if value is not True:
            raise serializers.ValidationError(_("You must accept the developer terms."))
        return value


class ApiKeyCreateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=ApiKeyScope.choices), allow_empty=False, max_length=len(ApiKeyScope),
    )
    spend_cap = StrictDecimalField(
        max_digits=18, decimal_places=6, min_value=0, required=False, allow_null=True,
        help_text=_("The most this key may spend per calendar month; calls past it answer 402."),
    )
    org = serializers.SlugField(required=False, allow_null=True, allow_blank=True,
                                help_text=_("An organisation's slug: calls made with this key are charged to its "
                                            "wallet."))


class ApiKeyOutputSerializer(serializers.ModelSerializer):
    org = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)

    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "scopes", "spend_cap", "org", "created_at", "last_used_at"]
        read_only_fields = fields


class ApiKeyCreatedOutputSerializer(serializers.Serializer):
    """Serialises `accounts.services.CreatedApiKey`: the stored key plus the raw key, this once."""

    id = serializers.IntegerField(source="api_key.id")
    name = serializers.CharField(source="api_key.name")
    prefix = serializers.CharField(source="api_key.prefix")
    scopes = serializers.ListField(child=serializers.CharField(), source="api_key.scopes")
    spend_cap = serializers.DecimalField(max_digits=18, decimal_places=6, source="api_key.spend_cap", allow_null=True)
    org = serializers.SlugRelatedField(slug_field="slug", source="api_key.org", read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(source="api_key.created_at")
    key = serializers.CharField(source="raw_key", help_text=_("The full key. Shown only in this answer: store it now."))
