"""API routes of analytics (under /api/v1/)."""
from django.urls import path

from . import api

urlpatterns = [
    path("apps/<slug:slug>/usage/", api.AppUsageApi.as_view(), name="api-app-usage"),
]
