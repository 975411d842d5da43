"""Input and output serializers of the training API, one pair per endpoint (no logic: views call services).

The OpenAPI component names are kept (`DatasetOut`, `JobOut`, ...): clients generated from the schema use them.
"""
from django.urls import reverse
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from config.money import StrictDecimalField

from .models import Dataset, TrainingJob


@extend_schema_serializer(component_name="DatasetOut")
class DatasetOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Dataset
        fields = ["id", "name", "rows", "labels", "status", "error", "error_code", "format", "size", "sha256",
                  "total_rows", "empty_rows", "duplicate_rows", "conflicting_rows", "mean_words",
                  "validation_fraction", "seed", "train_rows", "validation_rows", "created_at"]


@extend_schema_serializer(component_name="DatasetIn")
class DatasetCreateInputSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True, help_text="CSV or JSONL with `text` and `label`.")
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    validation_fraction = StrictDecimalField(max_digits=4, decimal_places=3, required=False, default="0.2")
    seed = serializers.IntegerField(required=False, default=42)


@extend_schema_serializer(component_name="DatasetSplitIn")
class DatasetSplitInputSerializer(serializers.Serializer):
    validation_fraction = StrictDecimalField(max_digits=4, decimal_places=3)
    seed = serializers.IntegerField()


@extend_schema_serializer(component_name="JobIn")
class JobCreateInputSerializer(serializers.Serializer):
    # A job to start, or to estimate (`training-jobs/estimate/`).
    base_app = serializers.SlugField(help_text="Slug of one of your apps.")
    base_version = serializers.CharField(max_length=40)
    dataset = serializers.IntegerField()
    hyperparameters = serializers.DictField(required=False, default=dict,
                                            help_text="epochs, learning_rate, batch_size, max_length, seed")
    time_limit_seconds = serializers.IntegerField(required=False, allow_null=True)


@extend_schema_serializer(component_name="PublishIn")
class JobPublishInputSerializer(serializers.Serializer):
    version = serializers.CharField(max_length=40, help_text="Semantic version, e.g. 1.1.0.")
    changelog = serializers.CharField(required=False, allow_blank=True, default="")
    app = serializers.SlugField(required=False, help_text="Target app (yours); the base app by default.")


@extend_schema_serializer(component_name="JobOut")
class JobOutputSerializer(serializers.ModelSerializer):
    base_app = serializers.CharField(source="base_version.app.slug")
    base_version = serializers.CharField(source="base_version.version")
    metrics = serializers.SerializerMethodField()
    result_artifact = serializers.SerializerMethodField()
    estimate = serializers.SerializerMethodField()
    published_version = serializers.SerializerMethodField()
    urls = serializers.SerializerMethodField()

    class Meta:
        model = TrainingJob
        fields = ["id", "status", "progress", "step", "total_steps", "epoch", "metrics", "error", "result_artifact",
                  "base_app", "base_version", "dataset", "framework", "hardware", "hyperparameters", "estimate",
                  "compute_seconds", "time_limit_seconds", "history", "logs", "model_card", "published_version",
                  "cancel_requested_at", "heartbeat_at", "created_at", "started_at", "finished_at", "urls"]

    def get_metrics(self, job: TrainingJob) -> dict:
        metrics = job.metrics or {}
        return {"epoch": metrics.get("epoch", job.epoch), "loss": metrics.get("loss"),
                "eval_accuracy": metrics.get("eval_accuracy"), "eval_loss": metrics.get("eval_loss")}

    def get_result_artifact(self, job: TrainingJob) -> dict | None:
        if not job.result_artifact:
            return None
        return {"name": job.result_name, "size": job.result_size,
                "sha256": job.result_sha256, "validated": job.result_checked,
                "download_url": reverse("training-api:job-artifact", kwargs={"pk": job.pk})}

    def get_estimate(self, job: TrainingJob) -> dict:
        return {"estimated_seconds": job.estimated_seconds, "price": f"{job.estimated_cost:.6f}",
                "currency": job.currency}

    def get_published_version(self, job: TrainingJob) -> dict | None:
        version = job.published_version
        if version is None:
            return None
        return {"app": version.app.slug, "version": version.version, "status": version.status}

    def get_urls(self, job: TrainingJob) -> dict:
        return {name: reverse(f"training-api:job-{name}", kwargs={"pk": job.pk})
                for name in ("detail", "cancel", "publish")}
