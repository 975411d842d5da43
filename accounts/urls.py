"""Account pages beyond allauth's: settings, API keys, developer terms, notifications, profiles."""
from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("settings/", views.settings_page, name="settings"),
    path("notifications/", views.notifications, name="notifications"),
]
