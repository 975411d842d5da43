"""Reads for accounts."""
from django.db.models import QuerySet

from .models import ApiKey, Notification, User


def api_keys_for(*, user: User) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(user=user, revoked_at__isnull=True).select_related("org")


def api_key_get_by_raw(*, raw_key: str) -> ApiKey | None:
    from .services import hash_api_key

    parts = raw_key.split("_")
    if len(parts) != 3 or parts[0] != "mm":
        return None
    from django.contrib.auth.models import Group
    from django.db.models import Exists, OuterRef

    from .models import MODERATORS_GROUP

    # The moderator flag comes with the key (one query), so permission checks need no second one.
    api_key = (
        ApiKey.objects.select_related("user")
        .annotate(user_is_moderator=Exists(Group.objects.filter(name=MODERATORS_GROUP, user=OuterRef("user_id"))))
        .filter(prefix=parts[1], hashed_key=hash_api_key(raw_key), revoked_at__isnull=True)
        .first()
    )
    if api_key is not None:
        api_key.user._is_moderator = api_key.user_is_moderator
    return api_key


def notifications_unread_count(*, user: User) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def notifications_for(*, user: User) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user)


def user_get_public(*, username: str) -> User:
    """A user's public face (profile page); raises User.DoesNotExist for unknown or inactive handles."""
    return User.objects.get(username=username, is_active=True)


def api_key_get_for(*, user: User, key_id: int) -> ApiKey:
    """One of the user's own active keys; anyone else's raises ApiKey.DoesNotExist (answered 404)."""
    return ApiKey.objects.get(pk=key_id, user=user, revoked_at__isnull=True)
