"""Reads for data protection: a user's exports."""
from __future__ import annotations

from typing import Any

from django.urls import reverse

from accounts.models import User
from config.errors import NotFound

from .models import DataExport, ExportStatus


def export_latest_for(*, user: User) -> DataExport | None:
    return DataExport.objects.filter(user=user).order_by("-created_at").first()


def export_downloadable_for(*, user: User, export_id: Any) -> DataExport:
    """The caller's own ready, unexpired export; anything else (someone else's, expired, unknown) is NotFound."""
    try:
        export = DataExport.objects.filter(pk=export_id, user=user, status=ExportStatus.READY).first()
    except (ValueError, TypeError):  # not a UUID: validation of the id is part of "not found"
        export = None
    if export is None or not export.is_downloadable:
        raise NotFound()
    return export


def export_download_path(*, export: DataExport) -> str | None:
    if not export.is_downloadable:
        return None
    return reverse("privacy-api:export-download", kwargs={"export_id": export.pk})


def export_payload(*, export: DataExport, absolute: Any = None) -> dict[str, Any]:
    """The export as the API shows it; `absolute` turns the download path into a URL (request.build_absolute_uri)."""
    path = export_download_path(export=export)
    status = export.status
    if status == ExportStatus.READY and not export.is_downloadable:
        status = ExportStatus.EXPIRED
    return {
        "id": str(export.pk), "status": status, "size": export.size if export.is_downloadable else None,
        "created_at": export.created_at, "finished_at": export.finished_at, "expires_at": export.expires_at,
        "download_url": (absolute(path) if absolute else path) if path else None,
        "error": export.error or None,
    }

