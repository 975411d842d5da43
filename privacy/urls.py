"""Privacy pages (account settings)."""
from django.urls import path

from . import views

app_name = "privacy"
urlpatterns = [
    path("settings/privacy/", views.privacy_settings, name="settings"),
    path("settings/privacy/export/", views.export_start, name="export_start"),
    path("settings/privacy/delete/", views.account_delete, name="account_delete"),
]
