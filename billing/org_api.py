"""`GET, PATCH /api/v1/orgs/{slug}/`: an organisation and its wallet's monthly budget.

Served by billing (routed next to accounts' org endpoints, same tag and operation-id style) because the budget
lives on billing's `OrgWallet` and accounts never imports billing. Any member reads; setting the budget takes
`budget.set` (owner, billing); non-members get 404.
"""
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import org_permissions
from accounts.models import Organisation
from accounts.permissions import ScopePermission
from config.api import error_responses

from . import selectors, services
from .serializers import OrgDetailOutputSerializer, OrgUpdateInputSerializer

TAGS = ["orgs"]


def _org_data(request: Request, org: Organisation) -> dict[str, Any]:
    wallet = selectors.org_wallet_of(org=org)
    return {"slug": org.slug, "name": org.name, "role": org_permissions.role_of(request.user, org),
            "monthly_budget": wallet.monthly_budget if wallet else None}


class OrgDetailApi(APIView):
    permission_classes = [IsAuthenticated, ScopePermission]
    required_scope = "publish"

    @extend_schema(operation_id="orgs_retrieve", tags=TAGS,
                   summary="An organisation: the caller's role and its wallet's monthly budget",
                   responses={200: OrgDetailOutputSerializer, **error_responses(401, 403, 404)})
    def get(self, request: Request, slug: str) -> Response:
        org = org_permissions.org_for(request.user, slug)
        return Response(OrgDetailOutputSerializer(_org_data(request, org)).data)

    @extend_schema(operation_id="orgs_update", tags=TAGS,
                   summary="Set the organisation wallet's monthly budget (null clears it; roles owner and billing)",
                   request=OrgUpdateInputSerializer,
                   responses={200: OrgDetailOutputSerializer, **error_responses(400, 401, 403, 404)})
    def patch(self, request: Request, slug: str) -> Response:
        org = org_permissions.org_for(request.user, slug)
        serializer = OrgUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if "monthly_budget" in serializer.validated_data:
            services.org_budget_set(actor=request.user, org=org,
                                    monthly_budget=serializer.validated_data["monthly_budget"])
        return Response(OrgDetailOutputSerializer(_org_data(request, org)).data)
