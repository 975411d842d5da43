"""Input and output shapes of the organisations API (shared/API.md, second wave). No logic here."""
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from config.money import StrictDecimalField

from .models import OrgRole


class OrgCreateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)


class OrgOutputSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    role = serializers.ChoiceField(choices=OrgRole.choices, help_text=_("The caller's role in the organisation."))


class MemberInviteInputSerializer(serializers.Serializer):
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=OrgRole.choices, default=OrgRole.MEMBER)


class MemberUpdateInputSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=OrgRole.choices, required=False)
    spend_cap = StrictDecimalField(
        max_digits=18, decimal_places=6, min_value=0, required=False, allow_null=True,
        help_text=_("The most this member may spend of the org's wallet per calendar month (null: no cap). "
                    "Roles billing, admin and owner."))


class MemberOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True, help_text=_("The membership's id; null for a pending invitation."))
    email = serializers.EmailField()
    username = serializers.CharField(allow_null=True)
    role = serializers.ChoiceField(choices=OrgRole.choices)
    status = serializers.ChoiceField(choices=[("active", _("Active")), ("invited", _("Invited"))])
    expires = serializers.DateTimeField(allow_null=True, help_text=_("When a pending invitation expires."))
    spend_cap = serializers.DecimalField(max_digits=18, decimal_places=6, allow_null=True)
