"""Account pages beyond allauth's: settings, API keys, developer terms, notifications, profiles."""
from django.urls import path

from . import preference_views, views

app_name = "accounts"
urlpatterns = [
    path("settings/", views.settings_page, name="settings"),
    path("settings/developer/", views.become_developer, name="become_developer"),
    path("settings/keys/", views.api_keys, name="api_keys"),
    path("settings/currency/", preference_views.display_currency_update, name="display_currency"),
    path("settings/keys/<int:key_id>/revoke/", views.api_key_revoke_view, name="api_key_revoke"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/read/", views.notifications_read, name="notifications_read"),
    path("u/<str:username>/", views.profile, name="profile"),
]
