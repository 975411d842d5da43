"""DRF permission classes: the one place API access rules are decided."""
from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import SAFE_METHODS, BasePermission

from .models import ApiKey


def has_scope(request, scope: str) -> bool:
    """Session users have every scope; an API key has only the scopes it was given."""
    if isinstance(request.auth, ApiKey):
        return scope in request.auth.scopes
    return True


class ScopePermission(BasePermission):
    """Reads need `read`; writes need the view's `required_scope` (default `publish`)."""

    message = _("This API key lacks the scope this action needs.")

    def has_permission(self, request, view):
        if request.method in SAFE_METHODS:
            needed = getattr(view, "read_scope", "read")
        else:
            needed = getattr(view, "required_scope", "publish")
        return has_scope(request, needed)


class IsDeveloper(BasePermission):
    message = _("Become a developer first: accept the developer terms.")

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request.user.is_developer)


class IsModerator(BasePermission):
    message = _("Only moderators can do this.")

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request.user.is_moderator)
