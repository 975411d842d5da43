"""Training API (shared/API.md, "Training"): datasets and fine-tuning jobs. Views parse input and call one service."""
from django.conf import settings
from django.http import FileResponse, Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from accounts.permissions import IsDeveloper, ScopePermission
from config.api import ApiError, error_responses
from config.parsers import StrictJSONParser
from marketplace.models import App

from . import selectors, services
from .models import Dataset, DatasetStatus, TrainingJob
from .serializers import (
    DatasetCreateInputSerializer,
    DatasetOutputSerializer,
    DatasetSplitInputSerializer,
    JobCreateInputSerializer,
    JobOutputSerializer,
    JobPublishInputSerializer,
)

TAGS = ["training"]


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
    max_bytes = settings.MAX_DATASET_BYTES
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
    serializer_class = DatasetOutputSerializer

    def get_queryset(self):
        return selectors.datasets_for(user=self.request.user)

    @extend_schema(operation_id="datasets_list", tags=TAGS,
                   responses={200: DatasetOutputSerializer(many=True), **error_responses(401, 403)})
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(DatasetOutputSerializer(page, many=True).data)

    @extend_schema(operation_id="datasets_create", tags=TAGS, request=DatasetCreateInputSerializer,
                   responses={201: DatasetOutputSerializer, **error_responses(400, 401, 403, 413)})
    def post(self, request):
        _refuse_declared_oversize(request)
        data = DatasetCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        dataset = services.dataset_create(owner=request.user, **data.validated_data)
        body = DatasetOutputSerializer(dataset).data
        if dataset.status == DatasetStatus.INVALID:
            raise ApiError(dataset.error, code=dataset.error_code or "invalid_dataset",
                           fields={"file": [dataset.error]}, extra={"dataset": body})
        return Response(body, status=status.HTTP_201_CREATED)


class DatasetDetailApi(TrainingAPIView):
    parser_classes = [StrictJSONParser, FormParser]
    serializer_class = DatasetOutputSerializer

    def get_object(self):
        try:
            return selectors.dataset_get(user=self.request.user, pk=self.kwargs["pk"])
        except Dataset.DoesNotExist:
            raise Http404 from None

    @extend_schema(operation_id="datasets_retrieve", tags=TAGS)
    def get(self, request, pk):
        return Response(DatasetOutputSerializer(self.get_object()).data)

    @extend_schema(operation_id="datasets_partial_update", tags=TAGS, request=DatasetSplitInputSerializer,
                   responses={200: DatasetOutputSerializer, **error_responses(400, 401, 403, 404)})
    def patch(self, request, pk):
        dataset = self.get_object()
        data = DatasetSplitInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        dataset = services.dataset_set_split(dataset=dataset, **data.validated_data)
        return Response(DatasetOutputSerializer(dataset).data)

    @extend_schema(operation_id="datasets_destroy", tags=TAGS,
                   responses={204: None, **error_responses(401, 403, 404, 409)})
    def delete(self, request, pk):
        services.dataset_delete(dataset=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class JobListApi(TrainingAPIView):
    serializer_class = JobOutputSerializer

    def get_queryset(self):
        return selectors.jobs_for(user=self.request.user)

    @extend_schema(operation_id="training_jobs_list", tags=TAGS,
                   responses={200: JobOutputSerializer(many=True), **error_responses(401, 403)})
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(JobOutputSerializer(page, many=True).data)

    @extend_schema(operation_id="training_jobs_create", tags=TAGS, request=JobCreateInputSerializer,
                   responses={201: JobOutputSerializer, **error_responses(400, 401, 402, 403, 404, 409)})
    def post(self, request):
        data = JobCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        version, dataset = _job_inputs(request, data.validated_data)
        job = services.training_job_create(owner=request.user, base_version=version, dataset=dataset,
                                           hyperparameters=data.validated_data["hyperparameters"],
                                           time_limit_seconds=data.validated_data.get("time_limit_seconds"))
        return Response(JobOutputSerializer(job).data, status=status.HTTP_201_CREATED)


class JobEstimateApi(TrainingAPIView):
    """The cost estimate a job would get, before starting it (nothing is held)."""

    required_scope = "read"

    @extend_schema(operation_id="training_jobs_estimate_create", tags=TAGS, request=JobCreateInputSerializer,
                   responses={200: dict, **error_responses(400, 401, 403, 404)})
    def post(self, request):
        data = JobCreateInputSerializer(data=request.data)
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
    serializer_class = JobOutputSerializer

    @extend_schema(operation_id="training_jobs_retrieve", tags=TAGS)
    def get(self, request, pk):
        return Response(JobOutputSerializer(self.get_object()).data)


class JobCancelApi(JobDetailMixin, TrainingAPIView):
    serializer_class = JobOutputSerializer

    @extend_schema(operation_id="training_jobs_cancel_create", tags=TAGS, request=None,
                   responses={200: JobOutputSerializer, **error_responses(401, 403, 404, 409)})
    def post(self, request, pk):
        job = services.training_job_cancel(job=self.get_object(), actor=request.user)
        return Response(JobOutputSerializer(job).data)


class JobPublishApi(JobDetailMixin, TrainingAPIView):
    serializer_class = JobOutputSerializer

    @extend_schema(operation_id="training_jobs_publish_create", tags=TAGS, request=JobPublishInputSerializer,
                   responses={201: JobOutputSerializer, **error_responses(400, 401, 403, 404, 409)})
    def post(self, request, pk):
        job = self.get_object()
        data = JobPublishInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        target = None
        if data.validated_data.get("app"):
            try:
                target = App.objects.owned_by(request.user).get(slug=data.validated_data["app"])
            except App.DoesNotExist:
                raise Http404 from None
        services.training_job_publish(job=job, actor=request.user, version=data.validated_data["version"],
                                      changelog=data.validated_data["changelog"], app=target)
        return Response(JobOutputSerializer(self.get_object()).data, status=status.HTTP_201_CREATED)


class JobArtifactApi(JobDetailMixin, TrainingAPIView):
    """The owner downloads the trained artifact; it never has a public URL."""

    @extend_schema(operation_id="training_jobs_artifact_retrieve", tags=TAGS,
                   responses={200: bytes, **error_responses(401, 403, 404)})
    def get(self, request, pk):
        job = self.get_object()
        if not job.result_artifact:
            raise Http404
        return FileResponse(job.result_artifact.open("rb"), as_attachment=True,
                            filename=job.result_name)
