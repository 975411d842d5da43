"""Reads for accounts."""
import functools

from django.db.models import QuerySet

from config.hot_rows import RowShape, fetch_one

from .models import MODERATORS_GROUP, ApiKey, Notification, User


def api_keys_for(*, user: User) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(user=user, revoked_at__isnull=True).select_related("org")


def api_key_get_by_raw(*, raw_key: str) -> ApiKey | None:
    """The live key and its user (with the moderator flag, so permission checks need no second query): one
    statement written once per process (`config.hot_rows`), as it runs on every API call."""
    from .services import hash_api_key

    parts = raw_key.split("_")
    if len(parts) != 3 or parts[0] != "mm":
        return None
    row = fetch_one(_api_key_sql(), [MODERATORS_GROUP, parts[1], hash_api_key(raw_key)])
    if row is None:
        return None
    api_key = _KEY_ROW.build(row)
    user = _USER_ROW.build(row, len(_KEY_ROW))
    user._is_moderator = bool(row[-1])  # type: ignore[attr-defined]
    api_key.user = user  # type: ignore[attr-defined]
    return api_key  # type: ignore[return-value]


_KEY_ROW = RowShape(ApiKey, "k")
_USER_ROW = RowShape(User, "u")


@functools.cache
def _api_key_sql() -> str:
    from django.contrib.auth.models import Group

    memberships = User.groups.through._meta.db_table
    # Only model metadata is formatted in; every value is a parameter.
    return (f"SELECT {_KEY_ROW.select}, {_USER_ROW.select}, EXISTS (SELECT 1 FROM {memberships} ug "  # noqa: S608
            f"JOIN {Group._meta.db_table} g ON g.id = ug.group_id WHERE ug.user_id = u.id AND g.name = %s) "
            f"FROM {_KEY_ROW.table} k JOIN {_USER_ROW.table} u ON u.id = k.user_id "
            "WHERE k.prefix = %s AND k.hashed_key = %s AND k.revoked_at IS NULL LIMIT 1")


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
