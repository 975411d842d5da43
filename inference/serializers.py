"""Input and output serializers of the inference API, one per endpoint and direction (no logic in them).

The OpenAPI component names are kept (`VersionOutput`, `Prediction`, `PredictionRequest`, ...): clients
generated from the schema use them.
"""
from decimal import Decimal

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from config.api import HotInputSerializer
from config.money import StrictDecimalField
from marketplace.models import AppVersion, Framework, Hardware, Task

from .models import PredictionStatus, WebhookDelivery
from .services import WEBHOOK_EVENTS


class VersionOutputSerializer(serializers.ModelSerializer):
    error = serializers.SerializerMethodField()

    class Meta:
        model = AppVersion
        fields = ["version", "task", "framework", "hardware", "status", "error", "sha256", "size", "input_schema",
                  "output_schema", "metrics", "changelog", "max_batch_size", "max_wait_ms", "soft_time_limit",
                  "time_limit", "created_at", "validated_at"]

    def get_error(self, obj) -> str | None:
        return obj.error or None


@extend_schema_serializer(component_name="VersionUpload")
class VersionUploadInputSerializer(serializers.Serializer):
    artifact = serializers.FileField(help_text="A .zip of a transformers model folder (safetensors) or a .keras file.")
    version = serializers.CharField(max_length=40, help_text="Semantic version, e.g. 1.0.0.")
    task = serializers.ChoiceField(choices=Task.choices)
    framework = serializers.ChoiceField(choices=Framework.choices)
    hardware = serializers.ChoiceField(choices=Hardware.choices, default=Hardware.CPU)
    changelog = serializers.CharField(required=False, allow_blank=True, default="")
    labels = serializers.CharField(required=False, allow_blank=True, default="",
                                   help_text="Class names for Keras classifiers, comma-separated, in output order.")
    max_batch_size = serializers.IntegerField(required=False, min_value=1, max_value=256)
    max_wait_ms = serializers.IntegerField(required=False, min_value=0, max_value=1000)


@extend_schema_serializer(component_name="PredictionRequest")
class PredictionCreateInputSerializer(HotInputSerializer):
    input = serializers.JSONField(help_text="`{text}` or `{texts}` (plus `max_new_tokens`), or `{image}` (base64).")
    version = serializers.CharField(required=False, allow_blank=True, default="")
    quote_id = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)
    max_price = StrictDecimalField(required=False, max_digits=18, decimal_places=6, min_value=Decimal("0"),
                                   allow_null=True, default=None)
    webhook = serializers.URLField(required=False, allow_blank=True, default="", max_length=500)
    webhook_events_filter = serializers.ListField(child=serializers.ChoiceField(choices=WEBHOOK_EVENTS),
                                                  required=False, default=list)
    stream = serializers.BooleanField(required=False, default=False)
    store = serializers.BooleanField(required=False, default=True, help_text=(
        "false: the output is answered once (response, stream or webhook), then erased with the input."))


@extend_schema_serializer(component_name="Prediction")
class PredictionOutputSerializer(serializers.Serializer):
    """Documentation of the prediction JSON (built by `selectors.prediction_payload`)."""

    id = serializers.UUIDField()
    app = serializers.CharField()
    version = serializers.CharField()
    status = serializers.ChoiceField(choices=PredictionStatus.choices)
    input = serializers.JSONField(allow_null=True)
    output = serializers.JSONField(allow_null=True)
    data_removed = serializers.BooleanField(help_text="Input and output were erased (retention, `store: false`).")
    store = serializers.BooleanField()
    error = serializers.CharField(allow_null=True)
    logs = serializers.CharField()
    price = serializers.CharField(help_text="Decimal string, 6 places.")
    currency = serializers.CharField()
    metrics = serializers.DictField(help_text="queue_ms, load_ms, predict_ms, batch_size")
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    urls = serializers.DictField(help_text="get, cancel, stream")


@extend_schema_serializer(component_name="Delivery")
class DeliveryOutputSerializer(serializers.ModelSerializer):
    prediction = serializers.UUIDField(source="prediction_id")

    class Meta:
        model = WebhookDelivery
        fields = ["id", "prediction", "event", "url", "message_id", "status", "attempts", "response_status",
                  "response_body", "last_error", "created_at", "last_attempt_at", "delivered_at"]


@extend_schema_serializer(component_name="WebhookSecret")
class WebhookSecretOutputSerializer(serializers.Serializer):
    secret = serializers.CharField()
