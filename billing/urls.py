"""Server-rendered pages of the billing app."""
from django.urls import path

from . import api, org_views, views

app_name = "billing"
urlpatterns = [
    path("billing/wallet/", views.wallet, name="wallet"),
    path("billing/earnings/", views.earnings, name="earnings"),
    path("billing/orgs/<slug:slug>/wallet/", org_views.org_wallet, name="org_wallet"),
    path("billing/orgs/<slug:slug>/connect/", org_views.org_connect_onboard, name="org_connect_onboard"),
    path("billing/orgs/<slug:slug>/connect/return/", org_views.org_connect_return, name="org_connect_return"),
    path("billing/connect/", views.connect_onboard, name="connect_onboard"),
    path("billing/connect/return/", views.connect_return, name="connect_return"),
    path("billing/apps/<slug:slug>/buy/", views.purchase, name="purchase"),
    path("billing/apps/<slug:slug>/price/", views.app_price, name="app_price"),
    path("billing/stripe/webhook/", api.StripeWebhookApi.as_view(), name="stripe_webhook"),
]
