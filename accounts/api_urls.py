"""API routes of the accounts app (under /api/v1/)."""
from django.urls import path

from . import api, org_api

urlpatterns = [
    path("me/", api.MeApi.as_view(), name="api-me"),
    path("me/developer/", api.BecomeDeveloperApi.as_view(), name="api-me-developer"),
    path("keys/", api.ApiKeyListCreateApi.as_view(), name="api-keys"),
    path("keys/<int:id>/", api.ApiKeyDetailApi.as_view(), name="api-key-detail"),
    path("orgs/", org_api.OrgListCreateApi.as_view(), name="api-orgs"),
    # orgs/<slug>/ itself (GET, PATCH: the org wallet's monthly budget) is billing.org_api: billing owns the wallet.
    path("orgs/<slug:slug>/members/", org_api.MemberListCreateApi.as_view(), name="api-org-members"),
    path("orgs/<slug:slug>/members/<int:id>/", org_api.MemberDetailApi.as_view(), name="api-org-member"),
]
