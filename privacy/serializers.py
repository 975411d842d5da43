"""Input and output shapes of the privacy API. No logic here: views call services and selectors."""
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from .models import ExportStatus


class AccountDeleteInputSerializer(serializers.Serializer):
    password = serializers.CharField(max_length=4096, trim_whitespace=False,
                                     help_text=_("Your current password, to confirm."))


class ExportOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=ExportStatus.choices)
    size = serializers.IntegerField(allow_null=True, help_text=_("Bytes of the zip, once ready."))
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True, help_text=_("The download link stops working then."))
    download_url = serializers.URLField(allow_null=True, help_text=_(
        "When ready: the zip of JSON files, for the caller only (the same credentials as this request)."))
    error = serializers.CharField(allow_null=True)
