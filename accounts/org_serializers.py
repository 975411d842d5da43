"""Input and output shapes of the organisations API (shared/API.md, second wave). No logic here."""
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

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
    role = serializers.ChoiceField(choices=OrgRole.choices)


class MemberOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True, help_text=_("The membership's id; null for a pending invitation."))
    email = serializers.EmailField()
    username = serializers.CharField(allow_null=True)
    role = serializers.ChoiceField(choices=OrgRole.choices)
    status = serializers.ChoiceField(choices=[("active", _("Active")), ("invited", _("Invited"))])
    expires = serializers.DateTimeField(allow_null=True, help_text=_("When a pending invitation expires."))
