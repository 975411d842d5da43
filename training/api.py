"""Training API (shared/API.md, "Training"): datasets and fine-tuning jobs. Views parse input and call one service."""
from django.http import FileResponse, Http404
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from accounts.permissions import IsDeveloper, ScopePermission
from config.api import ApiError, error_responses
from config.money import StrictDecimalField
from config.parsers import StrictJSONParser
from marketplace.models import App

from . import selectors, services
from .models import Dataset, DatasetStatus, TrainingJob


class DatasetOut(serializers.ModelSerializer):
    class Meta:
        model = Dataset
        fields = ["id", "name", "rows", "labels", "status", "error", "error_code", "format", "size", "sha256",
                  "total_rows", "empty_rows", "duplicate_rows", "conflicting_rows", "mean_words",
                  "validation_fraction", "seed", "train_rows", "validation_rows", "created_at"]


class DatasetIn(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True, help_text="CSV or JSONL with `text` and `label`.")
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    validation_fraction = StrictDecimalField(max_digits=4, decimal_places=3, required=False, default="0.2")
    seed = serializers.IntegerField(required=False, default=42)


class DatasetSplitIn(serializers.Serializer):
    validation_fraction = StrictDecimalField(max_digits=4, decimal_places=3)
    seed = serializers.IntegerField()


class JobIn(serializers.Serializer):
    base_app = serializers.SlugField(help_text="Slug of one of your apps.")
    base_version = serializers.CharField(max_length=40)
    dataset = serializers.IntegerField()
    hyperparameters = serializers.DictField(required=False, default=dict,
                                            help_text="epochs, learning_rate, batch_size, max_length, seed")
    time_limit_seconds = serializers.IntegerField(required=False, allow_null=True)


class PublishIn(serializers.Serializer):
    version = serializers.CharField(max_length=40, help_text="Semantic version, e.g. 1.1.0.")
    changelog = serializers.CharField(required=False, allow_blank=True, default="")
    app = serializers.SlugField(required=False, help_text="Target app (yours); the base app by default.")


class JobOut(serializers.ModelSerializer):
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


class TrainingAPIView(GenericAPIView):
    permission_classes = [IsAuthenticated, IsDeveloper, ScopePermission]
    required_scope = "publish"


def _job_inputs(request, data: dict):
    """Resolve a job request's references; anything not visible to the caller answers 404."""
    try:
        app = App.objects.visible_to(request.user).get(slug=data["base_app"])
    except App.DoesNotExist:
        raise Http404 from None
    version = app.versions.filter(version=data["base_version"]).first()
    if version is None:
        raise ApiError(_("App %(app)s has no version %(version)s.")
                       % {"app": app.slug, "version": data["base_version"]},
                       code="invalid", fields={"base_version": [_("No such version.")]})
    try:
        dataset = selectors.dataset_get(user=request.user, pk=data["dataset"])
    except Dataset.DoesNotExist:
        raise Http404 from None
    return version, dataset


# Room for the multipart envelope and the form's other fields around the file itself.
MULTIPART_OVERHEAD = 64 * 1024


def _refuse_declared_oversize(request) -> None:
    """413 from the declared Content-Length, before the multipart parser reads and spools the body."""
    max_bytes = int(selectors.conf("MAX_DATASET_BYTES", 20 * 1024 * 1024))
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return  # not a number: the parser refuses it
    if declared > max_bytes + MULTIPART_OVERHEAD:
        raise ApiError(_("The upload is %(size)d bytes; datasets can be at most %(max)d bytes.")
                       % {"size": declared, "max": max_bytes}, code="too_large", status_code=413,
                       fields={"file": [_("File too large.")]})


class DatasetListApi(TrainingAPIView):
    parser_classes = [MultiPartParser, FormParser]
    serializer_class = DatasetOut

    def get_queryset(self):
        return selectors.datasets_for(user=self.request.user)

    @extend_schema(operation_id="datasets_list", responses={200: DatasetOut(many=True), **error_responses(401, 403)})
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(DatasetOut(page, many=True).data)

    @extend_schema(request=DatasetIn, responses={201: DatasetOut, **error_responses(400, 401, 403, 413)})
    def post(self, request):
        _refuse_declared_oversize(request)
        data = DatasetIn(data=request.data)
        data.is_valid(raise_exception=True)
        dataset = services.dataset_create(owner=request.user, **data.validated_data)
        body = DatasetOut(dataset).data
        if dataset.status == DatasetStatus.INVALID:
            raise ApiError(dataset.error, code=dataset.error_code or "invalid_dataset",
                           fields={"file": [dataset.error]}, extra={"dataset": body})
        return Response(body, status=status.HTTP_201_CREATED)


class DatasetDetailApi(TrainingAPIView):
    parser_classes = [StrictJSONParser, FormParser]
    serializer_class = DatasetOut

    def get_object(self):
        try:
            return selectors.dataset_get(user=self.request.user, pk=self.kwargs["pk"])
        except Dataset.DoesNotExist:
            raise Http404 from None

    def get(self, request, pk):
        return Response(DatasetOut(self.get_object()).data)

    @extend_schema(request=DatasetSplitIn, responses={200: DatasetOut, **error_responses(400, 401, 403, 404)})
    def patch(self, request, pk):
        dataset = self.get_object()
        data = DatasetSplitIn(data=request.data)
        data.is_valid(raise_exception=True)
        dataset = services.dataset_set_split(dataset=dataset, **data.validated_data)
        return Response(DatasetOut(dataset).data)

    @extend_schema(responses={204: None, **error_responses(401, 403, 404, 409)})
    def delete(self, request, pk):
        services.dataset_delete(dataset=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class JobListApi(TrainingAPIView):
    serializer_class = JobOut

    def get_queryset(self):
        return selectors.jobs_for(user=self.request.user)

    @extend_schema(operation_id="training_jobs_list", responses={200: JobOut(many=True), **error_responses(401, 403)})
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(JobOut(page, many=True).data)

    @extend_schema(request=JobIn, responses={201: JobOut, **error_responses(400, 401, 402, 403, 404, 409)})
    def post(self, request):
        data = JobIn(data=request.data)
        data.is_valid(raise_exception=True)
        version, dataset = _job_inputs(request, data.validated_data)
        job = services.training_job_create(owner=request.user, base_version=version, dataset=dataset,
                                           hyperparameters=data.validated_data["hyperparameters"],
                                           time_limit_seconds=data.validated_data.get("time_limit_seconds"))
        return Response(JobOut(job).data, status=status.HTTP_201_CREATED)


class JobEstimateApi(TrainingAPIView):
    """The cost estimate a job would get, before starting it (nothing is held)."""

    required_scope = "read"

    @extend_schema(request=JobIn, responses={200: dict, **error_responses(400, 401, 403, 404)})
    def post(self, request):
        data = JobIn(data=request.data)
        data.is_valid(raise_exception=True)
        version, dataset = _job_inputs(request, data.validated_data)
        params = services.hyperparameters_clean(framework=version.framework,
                                                raw=data.validated_data["hyperparameters"])
        estimate = selectors.training_estimate(base_version=version, dataset=dataset, hyperparameters=params)
        return Response({**estimate.as_dict(), "hyperparameters": params})


class JobDetailMixin:
    def get_object(self):
        try:
            return selectors.job_get(user=self.request.user, pk=self.kwargs["pk"])
        except TrainingJob.DoesNotExist:
            raise Http404 from None


class JobDetailApi(JobDetailMixin, TrainingAPIView):
    serializer_class = JobOut

    def get(self, request, pk):
        return Response(JobOut(self.get_object()).data)


class JobCancelApi(JobDetailMixin, TrainingAPIView):
    serializer_class = JobOut

    @extend_schema(request=None, responses={200: JobOut, **error_responses(401, 403, 404, 409)})
    def post(self, request, pk):
        job = services.training_job_cancel(job=self.get_object(), actor=request.user)
        return Response(JobOut(job).data)


class JobPublishApi(JobDetailMixin, TrainingAPIView):
    serializer_class = JobOut

    @extend_schema(request=PublishIn, responses={201: JobOut, **error_responses(400, 401, 403, 404, 409)})
    def post(self, request, pk):
        job = self.get_object()
        data = PublishIn(data=request.data)
        data.is_valid(raise_exception=True)
        target = None
        if data.validated_data.get("app"):
            try:
                target = App.objects.owned_by(request.user).get(slug=data.validated_data["app"])
            except App.DoesNotExist:
                raise Http404 from None
        services.training_job_publish(job=job, actor=request.user, version=data.validated_data["version"],
                                      changelog=data.validated_data["changelog"], app=target)
        return Response(JobOut(self.get_object()).data, status=status.HTTP_201_CREATED)


class JobArtifactApi(JobDetailMixin, TrainingAPIView):
    """The owner downloads the trained artifact; it never has a public URL."""

    @extend_schema(responses={200: bytes, **error_responses(401, 403, 404)})
    def get(self, request, pk):
        job = self.get_object()
        if not job.result_artifact:
            raise Http404
        return FileResponse(job.result_artifact.open("rb"), as_attachment=True,
                            filename=job.result_name)
