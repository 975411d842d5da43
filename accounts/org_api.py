"""Organisations API: my orgs / create, members list / invite, change a role / remove. One service per write."""
from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import Pagination, error_responses

from .models import Invitation, Membership
from .org_permissions import org_for
from .org_selectors import members_of, orgs_for
from .org_serializers import (
    MemberInviteInputSerializer,
    MemberOutputSerializer,
    MemberUpdateInputSerializer,
    OrgCreateInputSerializer,
    OrgOutputSerializer,
)
from .org_services import member_change_role, member_invite, member_remove, member_set_cap, org_create
from .permissions import ScopePermission

TAGS = ["orgs"]


def member_data(item: Membership | Invitation) -> dict[str, Any]:
    if isinstance(item, Membership):
        return {"id": item.pk, "email": item.user.email, "username": item.user.username, "role": item.role,
                "status": "active", "expires": None, "spend_cap": item.spend_cap}
    return {"id": None, "email": item.email, "username": None, "role": item.role, "status": "invited",
            "expires": item.expires, "spend_cap": None}


class OrgListCreateApi(APIView):
    permission_classes = [IsAuthenticated, ScopePermission]
    required_scope = "publish"

    @extend_schema(operation_id="orgs_list", tags=TAGS, summary="The organisations the caller belongs to",
                   responses={200: OrgOutputSerializer(many=True), **error_responses(401, 403)})
    def get(self, request: Request) -> Response:
        paginator = Pagination()
        page = paginator.paginate_queryset(orgs_for(user=request.user), request, view=self)
        return paginator.get_paginated_response(OrgOutputSerializer(page, many=True).data)

    @extend_schema(operation_id="orgs_create", tags=TAGS, summary="Create an organisation (the caller is its owner)",
                   request=OrgCreateInputSerializer,
                   responses={201: OrgOutputSerializer, **error_responses(400, 401, 403)})
    def post(self, request: Request) -> Response:
        serializer = OrgCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        org = org_create(user=request.user, name=serializer.validated_data["name"])
        return Response(OrgOutputSerializer({"slug": org.slug, "name": org.name, "role": "owner"}).data,
                        status=status.HTTP_201_CREATED)


class MemberListCreateApi(APIView):
    permission_classes = [IsAuthenticated, ScopePermission]
    required_scope = "publish"

    @extend_schema(operation_id="orgs_members_list", tags=TAGS,
                   summary="The organisation's members, then its pending invitations",
                   responses={200: MemberOutputSerializer(many=True), **error_responses(401, 403, 404)})
    def get(self, request: Request, slug: str) -> Response:
        org = org_for(request.user, slug)
        paginator = Pagination()
        page = paginator.paginate_queryset(members_of(org=org), request, view=self)
        return paginator.get_paginated_response(MemberOutputSerializer([member_data(m) for m in page],
                                                                       many=True).data)

    @extend_schema(operation_id="orgs_members_invite", tags=TAGS,
                   summary="Invite by email: an existing user joins at once, others get an emailed link",
                   request=MemberInviteInputSerializer,
                   responses={201: MemberOutputSerializer, **error_responses(400, 401, 403, 404, 409)})
    def post(self, request: Request, slug: str) -> Response:
        org = org_for(request.user, slug)
        serializer = MemberInviteInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = member_invite(actor=request.user, org=org, **serializer.validated_data)
        item = result.membership or result.invitation
        assert item is not None
        return Response(MemberOutputSerializer(member_data(item)).data, status=status.HTTP_201_CREATED)


class MemberDetailApi(APIView):
    permission_classes = [IsAuthenticated, ScopePermission]
    required_scope = "publish"

    def _membership(self, request: Request, slug: str, id: int) -> Membership:
        org = org_for(request.user, slug)
        return get_object_or_404(Membership.objects.select_related("user", "org"), org=org, pk=id)

    @extend_schema(operation_id="orgs_members_update", tags=TAGS, summary="Change a member's role or spend cap",
                   request=MemberUpdateInputSerializer,
                   responses={200: MemberOutputSerializer, **error_responses(400, 401, 403, 404, 409)})
    def patch(self, request: Request, slug: str, id: int) -> Response:
        membership = self._membership(request, slug, id)
        serializer = MemberUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if "spend_cap" in data:
            membership = member_set_cap(actor=request.user, membership=membership, spend_cap=data["spend_cap"])
        if "role" in data:
            membership = member_change_role(actor=request.user, membership=membership, role=data["role"])
        return Response(MemberOutputSerializer(member_data(membership)).data)

    @extend_schema(operation_id="orgs_members_remove", tags=TAGS,
                   summary="Remove a member, or leave (the last owner cannot)",
                   responses={204: None, **error_responses(401, 403, 404, 409)})
    def delete(self, request: Request, slug: str, id: int) -> Response:
        member_remove(actor=request.user, membership=self._membership(request, slug, id))
        return Response(status=status.HTTP_204_NO_CONTENT)
