"""Billing API: quotes, balance, ledger, top-ups, grants. Views parse input and call one service."""
from django.conf import settings
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import org_permissions
from accounts.models import Organisation, User
from accounts.permissions import IsModerator, ScopePermission
from config.api import Pagination, error_responses
from config.errors import InvalidInput, PermissionDenied
from marketplace.models import App
from marketplace.selectors import app_get_visible

from . import selectors, services
from .serializers import (
    BalanceOutputSerializer,
    GrantInputSerializer,
    GrantOutputSerializer,
    LedgerEntryOutputSerializer,
    QuoteOutputSerializer,
    TopUpInputSerializer,
    TopUpOutputSerializer,
)


def _currency() -> str:
    return settings.CURRENCY


class QuoteApi(APIView):
    permission_classes = [IsAuthenticated, ScopePermission]

    @extend_schema(operation_id="apps_quote", tags=["predictions"],
                   summary="Quote the price of your next call; pass quote_id when you run it",
                   responses={200: QuoteOutputSerializer, **error_responses(401, 403, 404)})
    def get(self, request: Request, slug: str) -> Response:
        try:
            app = app_get_visible(user=request.user, slug=slug)
        except App.DoesNotExist:
            raise Http404 from None
        quote = services.quote_create(user=request.user, app=app)
        return Response(QuoteOutputSerializer({"price": quote.price, "currency": _currency(), "quote_id": quote.pk,
                                               "expires_at": quote.expires_at}).data)


def _org_balance(request: Request, slug: str) -> dict:
    """The org wallet: members with `billing`, `admin` or `owner` (others 403, non-members 404)."""
    org = org_permissions.org_for(request.user, slug)
    if not org_permissions.org_can(request.user, org, org_permissions.WALLET_VIEW):
        raise PermissionDenied(_("Your role in this organisation does not allow this."))
    available, held = selectors.org_balance(org=org)
    wallet = selectors.org_wallet_of(org=org)
    return {"balance": available, "held": held, "currency": _currency(),
            "monthly_budget": wallet.monthly_budget if wallet else None,
            "spent_this_month": selectors.org_spent_this_month(org=org),
            "earnings": selectors.org_earnings(org=org)}


class BalanceApi(APIView):
    permission_classes = [IsAuthenticated, ScopePermission]

    @extend_schema(operation_id="billing_balance", tags=["billing"],
                   summary="Available balance, holds, monthly budget and this month's spending",
                   parameters=[OpenApiParameter("org", str, description="An organisation's slug: its wallet "
                                                "(roles billing, admin, owner)")],
                   responses={200: BalanceOutputSerializer, **error_responses(401, 403, 404)})
    def get(self, request: Request) -> Response:
        user = request.user
        if request.query_params.get("org"):
            return Response(BalanceOutputSerializer(_org_balance(request, request.query_params["org"])).data)
        return Response(BalanceOutputSerializer({
            "balance": selectors.user_balance(user=user), "held": selectors.user_held(user=user),
            "currency": _currency(), "monthly_budget": selectors.user_monthly_budget(user=user),
            "spent_this_month": selectors.user_spent_this_month(user=user),
            "earnings": selectors.developer_earnings(user=user),
        }).data)


class LedgerApi(APIView):
    permission_classes = [IsAuthenticated, ScopePermission]

    @extend_schema(operation_id="billing_ledger", tags=["billing"],
                   summary="The caller's ledger entries (wallet and holds), newest first",
                   responses={200: LedgerEntryOutputSerializer(many=True), **error_responses(401, 403)})
    def get(self, request: Request) -> Response:
        paginator = Pagination()
        page = paginator.paginate_queryset(selectors.user_ledger(user=request.user), request, view=self)
        rows = [{"id": entry.pk, "kind": entry.transaction.kind, "account": entry.account.kind,
                 "amount": selectors.user_facing_amount(entry), "currency": _currency(),
                 "prediction": entry.transaction.prediction_id or None, "created_at": entry.transaction.created_at,
                 "memo": entry.transaction.memo} for entry in page]
        return paginator.get_paginated_response(LedgerEntryOutputSerializer(rows, many=True).data)


class TopUpApi(APIView):
    permission_classes = [IsAuthenticated, ScopePermission]
    required_scope = "predict"

    @extend_schema(operation_id="billing_topup", tags=["billing"],
                   summary="Start a wallet top-up (yours, or with `org` an organisation's): pay at the returned "
                           "Stripe Checkout URL",
                   request=TopUpInputSerializer,
                   responses={201: TopUpOutputSerializer, **error_responses(400, 401, 403, 404, 503)})
    def post(self, request: Request) -> Response:
        serializer = TopUpInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        org = org_permissions.org_for(request.user, data["org"]) if data.get("org") else None
        topup = services.topup_start(user=request.user, amount=data["amount"], org=org)
        return Response(TopUpOutputSerializer({"checkout_url": topup.checkout_url, "session_id": topup.session_id,
                                               "amount": topup.amount, "currency": topup.currency,
                                               "org": org.slug if org else None}).data,
                        status=status.HTTP_201_CREATED)


class GrantApi(APIView):
    # A moderator's everyday key cannot grant money: that takes a key made with the `moderate` scope.
    permission_classes = [IsAuthenticated, IsModerator, ScopePermission]
    required_scope = "moderate"

    @extend_schema(operation_id="billing_grant", tags=["billing"],
                   summary="Moderators: credit a user's or an organisation's wallet (support, promotions)",
                   request=GrantInputSerializer,
                   responses={201: GrantOutputSerializer, **error_responses(400, 401, 403)})
    def post(self, request: Request) -> Response:
        serializer = GrantInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data.get("org"):
            org = Organisation.objects.filter(slug=data["org"]).first()
            if org is None:
                message = _("No organisation has this slug.")
                raise InvalidInput(message, fields={"org": [message]})
            grant = services.org_credit_grant(org=org, amount=data["amount"], memo=data["memo"],
                                              granted_by=request.user)
            grant.currency = _currency()
            return Response(GrantOutputSerializer(grant).data, status=status.HTTP_201_CREATED)
        user = User.objects.filter(email__iexact=data.get("user", "")).first()
        if user is None:
            message = _("No user has this email address.")
            raise InvalidInput(message, fields={"user": [message]})
        grant = services.credit_grant(user=user, amount=data["amount"], memo=data["memo"], granted_by=request.user)
        grant.currency = _currency()
        return Response(GrantOutputSerializer(grant).data, status=status.HTTP_201_CREATED)


class StripeWebhookApi(APIView):
    """Stripe calls this: the signature on the raw body is the authentication, so no session or key."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    @extend_schema(operation_id="billing_stripe_webhook", tags=["billing"],
                   summary="Stripe's events (signature checked on the raw body with STRIPE_WEBHOOK_SECRET)",
                   request=OpenApiTypes.OBJECT,
                   responses={200: OpenApiTypes.OBJECT, **error_responses(400, 503)})
    def post(self, request: Request) -> Response:
        # request.body, never request.data: the signature covers the exact bytes Stripe sent.
        services.stripe_event_receive(payload=request.body, signature=request.headers.get("Stripe-Signature", ""))
        return Response({"received": True})
