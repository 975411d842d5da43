"""DRF permission classes: the one place API access rules are decided.

Visibility (someone else's draft answers 404) is decided by querysets such as `App.objects.visible_to`;
these classes decide what a caller who can see an object may do with it (403 otherwise).
"""
from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import SAFE_METHODS, BasePermission

from .models import ApiKey


def has_scope(request, scope: str | tuple[str, ...]) -> bool:
    """Session users have every scope; an API key has only the scopes it was given.

    A tuple means "any of these", for actions that several kinds of key may do.
    """
    if isinstance(request.auth, ApiKey):
        wanted = (scope,) if isinstance(scope, str) else tuple(scope)
        return any(item in request.auth.scopes for item in wanted)
    return True


class ScopePermission(BasePermission):
    """Reads need the view's `read_scope` (default `read`); writes its `required_scope` (default `publish`)."""

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


class IsDeveloperForWrites(IsDeveloper):
    """Anyone may read; only developers may create."""

    def has_permission(self, request, view):
        return request.method in SAFE_METHODS or super().has_permission(request, view)


class IsModerator(BasePermission):
    """Moderators (and superusers). Checked per object too, so an invisible object still answers 404."""

    message = _("Only moderators can do this.")

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request.user.is_moderator)


class IsModeratorForObject(BasePermission):
    """Like IsModerator, but decided after the lookup: others' private objects answer 404, not 403."""

    message = IsModerator.message

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated)

    def has_object_permission(self, request, view, obj):
        return request.user.is_moderator


class IsOwnerForWrites(BasePermission):
    """Anyone who can see the object may read it; only its owner may change it (or, for an object that says who
    manages it with `is_managed_by(user)`, such as an org's app, anyone it names)."""

    message = _("Only the owner can do this.")

    def has_object_permission(self, request, view, obj):
        if request.method in SAFE_METHODS:
            return True
        if not request.user.is_authenticated:
            return False
        managed_by = getattr(obj, "is_managed_by", None)
        return managed_by(request.user) if callable(managed_by) else obj.owner_id == request.user.pk
