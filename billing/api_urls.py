"""API routes of the billing app (under /api/v1/)."""
from django.urls import path

from . import api

urlpatterns = [
    path("apps/<slug:slug>/quote/", api.QuoteApi.as_view(), name="api-app-quote"),
    path("billing/balance/", api.BalanceApi.as_view(), name="api-billing-balance"),
    path("billing/ledger/", api.LedgerApi.as_view(), name="api-billing-ledger"),
    path("billing/topups/", api.TopUpApi.as_view(), name="api-billing-topups"),
    path("billing/grants/", api.GrantApi.as_view(), name="api-billing-grants"),
]
