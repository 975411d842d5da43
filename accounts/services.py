"""Writes for accounts: becoming a developer, API keys, notifications, the audit log.

Services raise `config.errors` classes: `InvalidInput` (400, with `fields`) and `PermissionDenied` (403).
"""
import hashlib
import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from config.errors import InvalidInput, PermissionDenied

from . import org_permissions
from .models import MODERATORS_GROUP, ApiKey, ApiKeyScope, AuditLog, Notification, Organisation, User

KEY_PREFIX_BYTES = 4
KEY_SECRET_BYTES = 24


def hash_api_key(raw_key: str) -> str:
    """Keys carry 192 random bits, so a plain SHA-256 is enough and allows an indexed lookup."""
    return hashlib.sha256(raw_key.encode()).hexdigest()


def _decimal_places(amount: Decimal) -> int:
    exponent = amount.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


@dataclass(frozen=True)
class CreatedApiKey:
    api_key: ApiKey
    raw_key: str


@transaction.atomic
def user_become_developer(*, user: User, accept_terms: bool) -> User:
    if not accept_terms:
        raise InvalidInput(fields={"accept_terms": [_("You must accept the developer terms.")]})
    if not user.is_developer:
        user.is_developer = True
        user.developer_terms_accepted_at = timezone.now()
        user.save(update_fields=["is_developer", "developer_terms_accepted_at"])
    return user


@transaction.atomic
def user_update_profile(*, user: User, username: str, bio: str, website: str) -> User:
    user.username = username
    user.bio = bio
    user.website = website
    try:
        user.full_clean(exclude=["password"])
    except ValidationError as error:
        raise InvalidInput.from_validation_error(error) from None
    user.save(update_fields=["username", "bio", "website"])
    return user


@transaction.atomic
def api_key_create(
    *, user: User, name: str, scopes: list[str], spend_cap: Decimal | None = None, parent: ApiKey | None = None,
    org: Organisation | None = None,
) -> CreatedApiKey:
    """`spend_cap` is the most the key may spend per calendar month (billing enforces it before dispatch).

    `parent` is the key the request came with, if any: a key never mints a key with more power than itself
    (no scope it lacks, and at most its own cap, so a capped key cannot mint an uncapped one).
    """
    name = (name or "").strip()
    if not name:
        raise InvalidInput(fields={"name": [_("Give the key a name.")]})
    if not scopes:
        raise InvalidInput(fields={"scopes": [_("Choose at least one scope.")]})
    unknown = sorted(set(scopes) - set(ApiKeyScope.values))
    if unknown:
        raise InvalidInput(fields={"scopes": [_("Unknown scope: %(scope)s.") % {"scope": ", ".join(unknown)}]})
    if ApiKeyScope.MODERATE in scopes and not user.is_moderator:
        raise InvalidInput(fields={"scopes": [_("Only moderators can create keys with the moderate scope.")]})
    if spend_cap is not None and (spend_cap < 0 or _decimal_places(spend_cap) > 6):
        raise InvalidInput(fields={"spend_cap": [_("Enter a non-negative amount with at most 6 decimal places.")]})
    if org is not None and not org_permissions.org_can(user, org, org_permissions.RUN):
        raise PermissionDenied(_("Your role in this organisation does not allow this."))
    if parent is not None:
        if parent.org_id is not None and parent.org_id != getattr(org, "pk", None):
            raise PermissionDenied(_("An organisation's API key can only create keys for that organisation."))
        if not set(scopes) <= set(parent.scopes):
            raise PermissionDenied(_("An API key cannot create a key with scopes it does not have."))
        if parent.spend_cap is not None:
            spend_cap = parent.spend_cap if spend_cap is None else min(spend_cap, parent.spend_cap)
    User.objects.select_for_update().filter(pk=user.pk).first()  # one key count at a time per user
    limit = settings.MAX_API_KEYS_PER_USER
    if ApiKey.objects.filter(user=user).active().count() >= limit:
        raise InvalidInput(fields={"name": [_("You have %(limit)d active keys, the most allowed; revoke one first.")
                                            % {"limit": limit}]})
    for _attempt in range(5):
        prefix = secrets.token_hex(KEY_PREFIX_BYTES)
        raw_key = f"mm_{prefix}_{secrets.token_hex(KEY_SECRET_BYTES)}"
        try:
            with transaction.atomic():
                api_key = ApiKey.objects.create(
                    user=user, name=name, prefix=prefix, hashed_key=hash_api_key(raw_key),
                    scopes=sorted(set(scopes)), spend_cap=spend_cap, org=org,
                )
            return CreatedApiKey(api_key=api_key, raw_key=raw_key)
        except IntegrityError:
            continue
    raise RuntimeError("Could not generate a unique API key prefix.")


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


def api_key_touch(*, api_key: ApiKey) -> None:
    """Record use at most once a minute, so authentication stays a single cheap UPDATE at worst."""
    now = timezone.now()
    if api_key.last_used_at and (now - api_key.last_used_at).total_seconds() < 60:
        return
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    api_key.last_used_at = now


def notification_send(
    *, user: User, kind: str, message: str = "", url: str = "", dedupe_key: str | None = None,
    email_subject: str | None = None, template: str = "", params: dict[str, Any] | None = None,
) -> Notification | None:
    """Notify on the site (once per dedupe key) and optionally by email, after commit.

    Pass `template` (an English msgid marked with gettext_noop) and `params`: the site shows it translated into
    each reader's language at render time. `message` is then the text in the sender's language.
    """
    if template:
        from django.utils.translation import gettext

        message = message or gettext(template) % (params or {})
    with transaction.atomic():
        if dedupe_key and Notification.objects.filter(user=user, dedupe_key=dedupe_key).exists():
            return None
        try:
            with transaction.atomic():
                notification = Notification.objects.create(
                    user=user, kind=kind, message=message[:500], url=url, dedupe_key=dedupe_key,
                    template=template[:500], params=params or {},
                )
        except IntegrityError:
            return None
        if email_subject and user.email:
            # On the site a relative link is right; in an email it needs the site's address.
            link = f"{settings.SITE_URL.rstrip('/')}{url}" if url.startswith("/") else url
            transaction.on_commit(
                lambda: send_mail(email_subject, f"{message}\n\n{link}".strip(), None, [user.email],
                                  fail_silently=True)
            )
        return notification


@transaction.atomic
def notifications_mark_read(*, user: User) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())


def audit_log_record(
    *, actor: User | None, action: str, target: models.Model, reason: str = "", data: dict[str, Any] | None = None
) -> AuditLog:
    return AuditLog.objects.create(
        actor=actor, action=action, target_type=target._meta.label_lower, target_id=str(target.pk),
        target_repr=str(target)[:300], reason=reason, data=data or {},
    )


# Just what moderation needs: see apps, versions, reviews and users, decide on apps, read the audit log.
# Moderators cannot edit listings or users; they may remove abusive reviews (through review_delete).
# Mirrored by accounts/migrations/0002_moderators_group.py.
MODERATOR_PERMISSIONS = [
    ("marketplace", "view_app"), ("marketplace", "review_app"), ("marketplace", "view_appreviewqueue"),
    ("marketplace", "view_appversion"), ("marketplace", "view_review"), ("marketplace", "delete_review"),
    ("marketplace", "view_category"),
    ("accounts", "view_auditlog"), ("accounts", "view_user"),
]


def _permission_get(app_label: str, codename: str) -> Permission:
    """The permission row, created first if post_migrate has not run yet (a flushed test database)."""
    permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
    if permission is None:
        from django.apps import apps
        from django.contrib.auth.management import create_permissions
        from django.contrib.contenttypes.management import create_contenttypes

        app_config = apps.get_app_config(app_label)
        create_contenttypes(app_config, verbosity=0)
        create_permissions(app_config, verbosity=0)
        permission = Permission.objects.get(content_type__app_label=app_label, codename=codename)
    return permission


@transaction.atomic
def moderators_group_ensure(*, extra_permissions: list[tuple[str, str]] | None = None) -> Group:
    """The Moderators group with the permissions moderation needs (idempotent, additive: apps may add theirs)."""
    group, _created = Group.objects.get_or_create(name=MODERATORS_GROUP)
    wanted = [_permission_get(app_label, codename)
              for app_label, codename in MODERATOR_PERMISSIONS + list(extra_permissions or [])]
    group.permissions.add(*wanted)
    return group


@transaction.atomic
def user_make_moderator(*, user: User) -> User:
    group = moderators_group_ensure()
    user.groups.add(group)
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    user._is_moderator = True
    return user


@transaction.atomic
def user_remove_moderator(*, user: User) -> User:
    """Leave the Moderators group; staff status goes too unless the user is a superuser."""
    user.groups.remove(*Group.objects.filter(name=MODERATORS_GROUP))
    if user.is_staff and not user.is_superuser:
        user.is_staff = False
        user.save(update_fields=["is_staff"])
    user._is_moderator = None
    return user
