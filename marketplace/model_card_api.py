"""A version's model card over the API: `GET, PATCH /api/v1/apps/{slug}/versions/{version}/card/`.

Anyone who can see the version reads its card; only the app's owner changes it (a `publish` key). The version
detail endpoint (inference) can show the same object with `ModelCardOutputSerializer(source="*")`.
"""
from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticatedOrReadOnly
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import ScopePermission
from config.api import error_responses

from .model_cards import CARD_FIELDS, MAX_LENGTHS, model_card_values, version_model_card_update
from .models import App, AppVersion, VersionStatus


class ModelCardOutputSerializer(serializers.Serializer):
    base_model = serializers.CharField()
    training_data = serializers.CharField()
    evaluation_metrics = serializers.DictField(help_text="Metric name -> number or short text.")
    intended_use = serializers.CharField()
    limitations = serializers.CharField()
    license = serializers.CharField()


class ModelCardInputSerializer(serializers.Serializer):
    """Every field optional (PATCH): only the fields given change. Metrics are checked by the service."""

    base_model = serializers.CharField(required=False, allow_blank=True, max_length=MAX_LENGTHS["base_model"])
    training_data = serializers.CharField(required=False, allow_blank=True, max_length=MAX_LENGTHS["training_data"])
    evaluation_metrics = serializers.DictField(required=False)
    intended_use = serializers.CharField(required=False, allow_blank=True, max_length=MAX_LENGTHS["intended_use"])
    limitations = serializers.CharField(required=False, allow_blank=True, max_length=MAX_LENGTHS["limitations"])
    license = serializers.CharField(required=False, allow_blank=True, max_length=MAX_LENGTHS["license"])


def _versions_visible(*, app: App, user) -> QuerySet[AppVersion]:
    """Everyone who can see the app sees its ready versions; the owner and moderators see all of them."""
    queryset = app.versions.all()
    if not (user and user.is_authenticated and (user.pk == app.owner_id or user.is_moderator)):
        queryset = queryset.filter(status=VersionStatus.READY)
    return queryset


def _version_or_404(request: Request, slug: str, version: str) -> AppVersion:
    app = App.objects.visible_to(request.user).filter(slug=slug).first()
    found = _versions_visible(app=app, user=request.user).filter(version=version).first() if app else None
    if found is None:
        raise Http404
    return found


class VersionModelCardApi(APIView):
    permission_classes = [IsAuthenticatedOrReadOnly, ScopePermission]

    @extend_schema(operation_id="versions_card_retrieve", tags=["versions"], summary="A version's model card",
                   responses={200: ModelCardOutputSerializer, **error_responses(404)})
    def get(self, request: Request, slug: str, version: str) -> Response:
        return Response(ModelCardOutputSerializer(model_card_values(_version_or_404(request, slug, version))).data)

    @extend_schema(operation_id="versions_card_update", tags=["versions"], summary="Edit a version's model card",
                   request=ModelCardInputSerializer,
                   responses={200: ModelCardOutputSerializer, **error_responses(400, 401, 403, 404)})
    def patch(self, request: Request, slug: str, version: str) -> Response:
        found = _version_or_404(request, slug, version)
        data = ModelCardInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = {name: data.validated_data[name] for name in CARD_FIELDS if name in data.validated_data}
        updated = version_model_card_update(version=found, actor=request.user, **values)
        return Response(ModelCardOutputSerializer(model_card_values(updated)).data)
