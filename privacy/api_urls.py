"""API routes of the privacy app (under /api/v1/). Included before accounts' so `me/` answers DELETE here."""
from django.urls import path

from . import api

app_name = "privacy-api"
urlpatterns = [
    path("me/", api.MeApi.as_view(), name="me"),
    path("me/export/", api.ExportApi.as_view(), name="export"),
    path("me/export/<uuid:export_id>/download/", api.ExportDownloadApi.as_view(), name="export-download"),
]
