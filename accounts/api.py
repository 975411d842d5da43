"""Accounts API: who am I, becoming a developer, API keys. Views parse input and call one service."""
from django.conf import settings
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import Pagination, error_responses

from .balance_port import user_balance
from .models import ApiKey
from .org_permissions import org_for
from .permissions import ScopePermission
from .selectors import api_keys_for
from .serializers import (
    ApiKeyCreatedOutputSerializer,
    ApiKeyCreateInputSerializer,
    ApiKeyOutputSerializer,
    BecomeDeveloperInputSerializer,
    MeOutputSerializer,
)
from .services import api_key_create, api_key_revoke, user_become_developer


def _me(user) -> dict:
    return {
        "id": user.pk, "email": user.email, "username": user.username, "is_developer": user.is_developer,
        "is_moderator": user.is_moderator, "balance": user_balance(user=user),
        "currency": settings.CURRENCY,
    }


class MeApi(APIView):
    permission_classes = [IsAuthenticated, ScopePermission]

    @extend_schema(operation_id="me", tags=["accounts"], summary="The caller's account and wallet balance",
                   responses={200: MeOutputSerializer, **error_responses(401, 403)})
    def get(self, request: Request) -> Response:
        return Response(MeOutputSerializer(_me(request.user)).data)


class BecomeDeveloperApi(APIView):
    permission_classes = [IsAuthenticated, ScopePermission]
    required_scope = "publish"

    @extend_schema(operation_id="me_become_developer", tags=["accounts"],
                   summary="Accept the developer terms and gain the right to publish apps",
                   request=BecomeDeveloperInputSerializer,
                   responses={200: MeOutputSerializer, **error_responses(400, 401, 403)})
    def post(self, request: Request) -> Response:
        serializer = BecomeDeveloperInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = user_become_developer(user=request.user, accept_terms=serializer.validated_data["accept_terms"])
        return Response(MeOutputSerializer(_me(user)).data)


class ApiKeyListCreateApi(APIView):
    permission_classes = [IsAuthenticated, ScopePermission]
    required_scope = "publish"

    @extend_schema(operation_id="keys_list", tags=["accounts"], summary="The caller's active API keys",
                   responses={200: ApiKeyOutputSerializer(many=True), **error_responses(401, 403)})
    def get(self, request: Request) -> Response:
        paginator = Pagination()
        page = paginator.paginate_queryset(api_keys_for(user=request.user), request, view=self)
        return paginator.get_paginated_response(ApiKeyOutputSerializer(page, many=True).data)

    @extend_schema(operation_id="keys_create", tags=["accounts"],
                   summary="Create an API key; the full key is in this answer only",
                   request=ApiKeyCreateInputSerializer,
                   responses={201: ApiKeyCreatedOutputSerializer, **error_responses(400, 401, 403, 404)})
    def post(self, request: Request) -> Response:
        serializer = ApiKeyCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        scopes = serializer.validated_data["scopes"]
        # A key may mint keys, but never one with more power than itself (scopes, spend cap).
        slug = serializer.validated_data.get("org")
        created = api_key_create(user=request.user, name=serializer.validated_data["name"], scopes=scopes,
                                 spend_cap=serializer.validated_data.get("spend_cap"),
                                 parent=request.auth if isinstance(request.auth, ApiKey) else None,
                                 org=org_for(request.user, slug) if slug else None)
        return Response(ApiKeyCreatedOutputSerializer(created).data, status=status.HTTP_201_CREATED)


class ApiKeyDetailApi(APIView):
    permission_classes = [IsAuthenticated, ScopePermission]
    required_scope = "publish"

    @extend_schema(operation_id="keys_revoke", tags=["accounts"], summary="Revoke an API key",
                   responses={204: None, **error_responses(401, 403, 404)})
    def delete(self, request: Request, id: int) -> Response:  # `{id}`, as in shared/API.md
        # Only the caller's own active keys: anyone else's key answers 404.
        api_key = get_object_or_404(api_keys_for(user=request.user), pk=id)
        api_key_revoke(api_key=api_key)
        return Response(status=status.HTTP_204_NO_CONTENT)
