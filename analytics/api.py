"""Analytics API: an app's usage per day, for its owners only (anyone else's app answers 404)."""
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import ScopePermission
from config.api import error_responses
from marketplace.models import App

from .selectors import app_owned_get, app_usage, days_range
from .serializers import UsageOutputSerializer, UsageQuerySerializer


class AppUsageApi(APIView):
    permission_classes = [IsAuthenticated, ScopePermission]

    @extend_schema(
        operation_id="apps_usage_retrieve", tags=["marketplace"], summary="An app's usage per day (owners)",
        description="Calls, errors, unique callers, p50/p95 latency, revenue and cost per day for the last `days` "
                    "days (today included), from the daily rollups; revenue and cost equal the ledger's.",
        parameters=[UsageQuerySerializer],
        responses={200: UsageOutputSerializer, **error_responses(400, 401, 403, 404)},
    )
    def get(self, request: Request, slug: str) -> Response:
        try:
            app = app_owned_get(user=request.user, slug=slug)
        except App.DoesNotExist:
            raise NotFound(_("No such app.")) from None
        query = UsageQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        start, end = days_range(days=query.validated_data["days"])
        report = app_usage(app=app, start=start, end=end)
        return Response(UsageOutputSerializer(report).data)
