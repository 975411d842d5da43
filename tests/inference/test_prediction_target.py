"""`prediction_target` (one hand-written statement, config.hot_rows) picks what the ORM query it replaced picked:
the newest ready version of a visible app, with the caller's ownership flag, and every field as the ORM reads it."""
from datetime import timedelta

import pytest
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from inference.selectors import prediction_target
from marketplace.models import AppStatus, AppVersion, LibraryEntry, VersionStatus
from tests.factories import AppFactory, AppVersionFactory, LibraryEntryFactory, UserFactory

pytestmark = pytest.mark.django_db


def _orm_target(user, slug, version=None):
    """The queryset prediction_target used to build, kept here as the reference."""
    queryset = (AppVersion.objects.select_related("app")
                .filter(app__slug=slug, status=VersionStatus.READY)
                .filter(Q(app__status=AppStatus.PUBLISHED) | Q(app__owner_id=user.pk))
                .filter(Q(held_for_review=False) | Q(app__owner_id=user.pk))
                .annotate(caller_has_app=Exists(
                    LibraryEntry.objects.filter(user_id=user.pk, app_id=OuterRef("app_id")))))
    if version:
        queryset = queryset.filter(version=version)
    return queryset.order_by("-validated_at", "-created_at").first()


def _fields(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in type(instance)._meta.concrete_fields}


def test_the_target_matches_the_orm_for_owners_callers_and_strangers():
    owner, caller, stranger = UserFactory(), UserFactory(), UserFactory()
    now = timezone.now()
    published = AppFactory(owner=owner, status=AppStatus.PUBLISHED)
    old = AppVersionFactory(app=published, version="1.0.0", status=VersionStatus.READY,
                            validated_at=now - timedelta(days=2), model_card={"intended_use": "demo"})
    newest = AppVersionFactory(app=published, version="1.1.0", status=VersionStatus.READY,
                               validated_at=now - timedelta(days=1))
    held = AppVersionFactory(app=published, version="2.0.0", status=VersionStatus.READY, validated_at=now,
                             held_for_review=True)  # runs for its owner only
    AppVersionFactory(app=published, version="3.0.0", status=VersionStatus.VALIDATING)
    draft = AppFactory(owner=owner, status=AppStatus.DRAFT)
    draft_version = AppVersionFactory(app=draft, status=VersionStatus.READY, validated_at=now)
    LibraryEntryFactory(user=caller, app=published)

    cases = [
        (owner, published.slug, None, held), (caller, published.slug, None, newest),
        (stranger, published.slug, None, newest), (caller, published.slug, "1.0.0", old),
        (caller, published.slug, "2.0.0", None), (caller, published.slug, "3.0.0", None),
        (owner, draft.slug, None, draft_version), (caller, draft.slug, None, None),
        (caller, "no-such-app", None, None),
    ]
    for user, slug, version, expected in cases:
        found = prediction_target(user=user, slug=slug, version=version)
        reference = _orm_target(user, slug, version)
        assert (found and found.pk) == (expected and expected.pk) == (reference and reference.pk), (user, slug, version)
        if found is not None:
            assert _fields(found) == _fields(reference)
            assert _fields(found.app) == _fields(reference.app)
            assert found.app.caller_has_app is reference.caller_has_app is (user == caller and slug == published.slug)


def test_anonymous_callers_take_the_slow_path():
    from django.contrib.auth.models import AnonymousUser

    app = AppFactory(status=AppStatus.PUBLISHED)
    AppVersionFactory(app=app, status=VersionStatus.READY)
    assert prediction_target(user=AnonymousUser(), slug=app.slug) is None
