"""API routes of the billing app (under /api/v1/)."""
from django.urls import path

from . import api, org_api

urlpatterns = [
    path("apps/<slug:slug>/quote/", api.QuoteApi.as_view(), name="api-app-quote"),
    path("billing/balance/", api.BalanceApi.as_view(), name="api-billing-balance"),
    path("billing/ledger/", api.LedgerApi.as_view(), name="api-billing-ledger"),
    path("billing/topups/", api.TopUpApi.as_view(), name="api-billing-topups"),
    path("billing/grants/", api.GrantApi.as_view(), name="api-billing-grants"),
    # Next to accounts' orgs/<slug>/members/: the org with its wallet's monthly budget (billing owns the wallet).
    path("orgs/<slug:slug>/", org_api.OrgDetailApi.as_view(), name="api-org-detail"),
]
