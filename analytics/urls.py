"""Server-rendered analytics pages (the console's per-app dashboard; the platform's lives in the admin)."""
from django.urls import path

from . import views

app_name = "analytics"
urlpatterns = [
    path("console/apps/<slug:slug>/usage/", views.app_usage_page, name="app_usage"),
    path("console/apps/<slug:slug>/usage.csv", views.app_usage_csv, name="app_usage_csv"),
]
