"""API routes of the accounts app (under /api/v1/)."""
from django.urls import path

from . import api

urlpatterns = [
    path("me/", api.MeApi.as_view(), name="api-me"),
    path("me/developer/", api.BecomeDeveloperApi.as_view(), name="api-me-developer"),
    path("keys/", api.ApiKeyListCreateApi.as_view(), name="api-keys"),
    path("keys/<int:id>/", api.ApiKeyDetailApi.as_view(), name="api-key-detail"),
]
