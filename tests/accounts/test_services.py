"""Account services: becoming a developer, API keys (hashed, revocable), notifications, audit, roles."""
import hashlib

import pytest
from django.contrib.auth.models import Group
from django.core import mail

from accounts.models import MODERATORS_GROUP, ApiKey, AuditLog, Notification
from accounts.selectors import api_key_get_by_raw
from accounts.services import (
    MODERATOR_PERMISSIONS,
    api_key_create,
    api_key_revoke,
    api_key_touch,
    audit_log_record,
    moderators_group_ensure,
    notification_send,
    user_become_developer,
    user_make_moderator,
    user_remove_moderator,
)
from config.errors import InvalidInput
from tests.factories import AppFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_becoming_a_developer_needs_the_terms(user):
    with pytest.raises(InvalidInput) as error:
        user_become_developer(user=user, accept_terms=False)
    assert "accept_terms" in error.value.fields
    user.refresh_from_db()
    assert user.is_developer is False

    user_become_developer(user=user, accept_terms=True)
    user.refresh_from_db()
    assert user.is_developer is True
    accepted_at = user.developer_terms_accepted_at
    assert accepted_at is not None
    user_become_developer(user=user, accept_terms=True)  # again: nothing changes
    user.refresh_from_db()
    assert user.developer_terms_accepted_at == accepted_at


def test_api_key_database_holds_only_the_sha256_and_prefix(user):
    created = api_key_create(user=user, name="CI", scopes=["read", "predict"])
    raw = created.raw_key
    prefix, secret = raw.split("_")[1], raw.split("_")[2]
    assert raw.startswith("mm_") and len(secret) == 48

    row = ApiKey.objects.values().get(pk=created.api_key.pk)
    assert row["prefix"] == prefix
    assert row["hashed_key"] == hashlib.sha256(raw.encode()).hexdigest()
    assert row["scopes"] == ["predict", "read"]
    for value in row.values():
        assert secret not in str(value), "the secret part of the key must never be stored"

    assert api_key_get_by_raw(raw_key=raw) == created.api_key
    assert api_key_get_by_raw(raw_key=raw[:-1] + ("0" if raw[-1] != "0" else "1")) is None
    assert api_key_get_by_raw(raw_key="not-a-key") is None


@pytest.mark.parametrize(
    ("name", "scopes", "field"),
    [("", ["read"], "name"), ("ok", [], "scopes"), ("ok", ["read", "admin"], "scopes")],
)
def test_api_key_create_rejects_bad_input(user, name, scopes, field):
    with pytest.raises(InvalidInput) as error:
        api_key_create(user=user, name=name, scopes=scopes)
    assert field in error.value.fields
    assert not ApiKey.objects.exists()


def test_revoked_key_no_longer_authenticates_and_revoking_twice_keeps_the_first_time(user):
    created = api_key_create(user=user, name="old", scopes=["read"])
    api_key_revoke(api_key=created.api_key)
    first = ApiKey.objects.get(pk=created.api_key.pk).revoked_at
    assert first is not None
    assert api_key_get_by_raw(raw_key=created.raw_key) is None
    api_key_revoke(api_key=created.api_key)
    assert ApiKey.objects.get(pk=created.api_key.pk).revoked_at == first


def test_api_key_touch_records_use_at_most_once_a_minute(user, django_assert_num_queries):
    api_key = api_key_create(user=user, name="k", scopes=["read"]).api_key
    with django_assert_num_queries(1):
        api_key_touch(api_key=api_key)
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at is not None
    with django_assert_num_queries(0):
        api_key_touch(api_key=api_key)


def test_notification_is_sent_once_per_dedupe_key_and_emailed_after_commit(user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = notification_send(user=user, kind="x", message="Hello", url="/a/", dedupe_key="k1",
                                  email_subject="Subject")
        second = notification_send(user=user, kind="x", message="Hello", dedupe_key="k1", email_subject="Subject")
    assert first is not None and second is None
    assert Notification.objects.filter(user=user).count() == 1
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [user.email]
    assert "Hello" in mail.outbox[0].body


def test_audit_log_records_who_what_and_why(moderator):
    app = AppFactory()
    entry = audit_log_record(actor=moderator, action="app.suspend", target=app, reason="spam", data={"a": 1})
    entry = AuditLog.objects.get(pk=entry.pk)
    assert (entry.actor, entry.action, entry.target_type, entry.target_id, entry.reason) == (
        moderator, "app.suspend", "marketplace.app", str(app.pk), "spam")
    assert entry.target_repr == app.name and entry.created_at is not None


def test_moderators_group_has_what_moderation_needs_and_no_more_of_ours():
    group = moderators_group_ensure()
    moderators_group_ensure()
    assert Group.objects.filter(name=MODERATORS_GROUP).count() == 1
    granted = set(group.permissions.values_list("content_type__app_label", "codename"))
    assert set(MODERATOR_PERMISSIONS) <= granted
    # Other apps may add theirs (forum moderation...), but accounts and marketplace grant only the list.
    ours = {perm for perm in granted if perm[0] in ("accounts", "marketplace")}
    assert ours == set(MODERATOR_PERMISSIONS)
    assert ("accounts", "delete_user") not in granted and ("accounts", "change_user") not in granted


def test_make_and_remove_moderator():
    member = UserFactory()
    user_make_moderator(user=member)
    member = type(member).objects.get(pk=member.pk)
    assert member.is_moderator and member.is_staff
    assert member.has_perm("marketplace.review_app") and not member.has_perm("accounts.delete_user")
    user_remove_moderator(user=member)
    member = type(member).objects.get(pk=member.pk)
    assert not member.is_moderator and not member.is_staff


def _fields(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in type(instance)._meta.concrete_fields}


@pytest.mark.parametrize("moderator", [False, True])
def test_the_key_lookup_builds_what_the_orm_builds(moderator, django_assert_num_queries):
    """`api_key_get_by_raw` skips the queryset (config.hot_rows): every field of the key and its user, the
    moderator flag and the types (Decimal cap, JSON scopes, aware datetimes) must equal the ORM's, in one query."""
    from decimal import Decimal

    from django.utils import timezone

    from tests.factories import ModeratorFactory

    owner = ModeratorFactory() if moderator else UserFactory(bio="hello", website="https://example.com")
    created = api_key_create(user=owner, name="full", scopes=["predict", "read"], spend_cap=Decimal("12.500000"))
    ApiKey.objects.filter(pk=created.api_key.pk).update(rate_limit="1200/min", last_used_at=timezone.now())
    expected = ApiKey.objects.select_related("user").get(pk=created.api_key.pk)
    with django_assert_num_queries(1):
        found = api_key_get_by_raw(raw_key=created.raw_key)
        assert found.user.is_moderator is moderator  # answered by the same query
    assert _fields(found) == _fields(expected)
    assert _fields(found.user) == _fields(expected.user)
    assert isinstance(found.spend_cap, Decimal) and found.scopes == ["predict", "read"]
    assert found.last_used_at.tzinfo is not None and found.user.date_joined.tzinfo is not None
    assert found._state.adding is False and found._state.db == "default"
    found.name = "renamed"
    found.save(update_fields=["name"])  # a normal instance: it saves as one
    assert ApiKey.objects.get(pk=found.pk).name == "renamed"
