"""Privacy API: data export (start, status, owner-only download) and account deletion (`DELETE /me/`)."""
from django.http import FileResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import MeApi as AccountsMeApi
from accounts.permissions import ScopePermission
from config.api import error_responses
from config.errors import NotFound

from . import selectors, services
from .serializers import AccountDeleteInputSerializer, ExportOutputSerializer


# `GET /me/` as accounts answers it, plus `DELETE /me/` (routed here first: privacy sits above accounts). No class
# docstring: it would become the OpenAPI description of `GET /me/` too.
class MeApi(AccountsMeApi):
    @extend_schema(operation_id="me_delete", tags=["accounts"],
                   summary="Delete your account: personal data erased, ledger rows kept and anonymised",
                   request=AccountDeleteInputSerializer,
                   responses={204: None, **error_responses(400, 401, 403, 409)})
    def delete(self, request: Request) -> Response:
        serializer = AccountDeleteInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.account_delete(user=request.user, password=serializer.validated_data["password"])
        if hasattr(request, "session"):
            request.session.flush()
        return Response(status=status.HTTP_204_NO_CONTENT)


def _export_answer(request: Request, export, code: int = status.HTTP_200_OK) -> Response:
    payload = selectors.export_payload(export=export, absolute=request.build_absolute_uri)
    return Response(ExportOutputSerializer(payload).data, status=code)


class ExportApi(APIView):
    permission_classes = [IsAuthenticated, ScopePermission]
    required_scope = "read"  # an export is a read of the caller's own data, made asynchronous

    @extend_schema(operation_id="me_export_status", tags=["accounts"],
                   summary="Your latest data export: status and, when ready, a download link",
                   responses={200: ExportOutputSerializer, **error_responses(401, 403, 404)})
    def get(self, request: Request) -> Response:
        export = selectors.export_latest_for(user=request.user)
        if export is None:
            raise NotFound(_("You have not asked for an export yet."), code="no_export")
        return _export_answer(request, export)

    @extend_schema(operation_id="me_export_start", tags=["accounts"], request=None,
                   summary="Start an export of everything you own (a zip of JSON files)",
                   responses={202: ExportOutputSerializer, **error_responses(401, 403)})
    def post(self, request: Request) -> Response:
        return _export_answer(request, services.export_request(user=request.user), status.HTTP_202_ACCEPTED)


class ExportDownloadApi(APIView):
    """The zip, for its owner only, until it expires; anyone else (or later) gets 404. Never a public URL."""

    permission_classes = [IsAuthenticated, ScopePermission]

    @extend_schema(operation_id="me_export_download", tags=["accounts"], summary="Download a ready data export",
                   responses={(200, "application/zip"): OpenApiResponse(response=OpenApiTypes.BINARY),
                              **error_responses(401, 403, 404)})
    def get(self, request: Request, export_id) -> FileResponse:
        export = selectors.export_downloadable_for(user=request.user, export_id=export_id)
        name = f"modelmarket-export-{export.created_at:%Y%m%d}.zip"
        response = FileResponse(export.file.open("rb"), as_attachment=True, filename=name,
                                content_type="application/zip")
        response["Cache-Control"] = "private, no-store"
        return response
