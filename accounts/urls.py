"""Account pages beyond allauth's: settings, API keys, developer terms, notifications, profiles."""
from django.urls import path

from . import org_views, preference_views, views

app_name = "accounts"
urlpatterns = [
    path("settings/", views.settings_page, name="settings"),
    path("settings/developer/", views.become_developer, name="become_developer"),
    path("settings/keys/", views.api_keys, name="api_keys"),
    path("settings/currency/", preference_views.display_currency_update, name="display_currency"),
    path("settings/keys/<int:key_id>/revoke/", views.api_key_revoke_view, name="api_key_revoke"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/read/", views.notifications_read, name="notifications_read"),
    path("orgs/", org_views.orgs_page, name="orgs"),
    path("orgs/switch/", org_views.org_switch, name="org_switch"),
    path("orgs/invitations/<str:token>/", org_views.org_invitation, name="org_invitation_accept"),
    path("orgs/<slug:slug>/members/", org_views.org_members, name="org_members"),
    path("orgs/<slug:slug>/members/<int:member_id>/", org_views.org_member_update, name="org_member_update"),
    path("u/<str:username>/", views.profile, name="profile"),
]
