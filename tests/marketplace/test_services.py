"""Marketplace services and selectors: the app lifecycle, moderation, library, reviews and prices."""
from decimal import Decimal

import pytest
from django.core import mail

from accounts.models import AuditLog, Notification
from config.errors import Conflict, InvalidInput, PermissionDenied
from marketplace.models import App, AppStatus, LibraryEntry, LibrarySource, PricingModel, Review
from marketplace.selectors import (
    app_current_price,
    app_get_visible,
    app_latest_version,
    app_list_published,
    app_prices,
    app_recent_calls,
    apps_owned_by,
)
from marketplace.services import (
    app_acquire,
    app_acquire_blocker,
    app_create,
    app_record_run,
    app_review,
    app_submit,
    app_submit_requirements,
    app_update,
    app_version_create,
    review_create,
    review_delete,
    review_reply,
    review_update,
    user_has_app,
)
from tests.factories import (
    AppFactory,
    AppVersionFactory,
    DeveloperFactory,
    LibraryEntryFactory,
    PaidAppFactory,
    UserFactory,
    category,
)

pytestmark = pytest.mark.django_db

PER_CALL = {"model": "per_call", "base_price": Decimal("0.002"), "k": Decimal("0.0001"), "window_seconds": 3600,
            "max_price": Decimal("0.01"), "free_calls_per_month": 20}


def test_app_create_makes_a_draft_in_the_owners_library(developer):
    app = app_create(owner=developer, name="Tiny Sentiment", tagline="Happy or sad?", category=category("finance"),
                     description="# Hi", pricing=PER_CALL, tags=["NLP", "Sentiment", "nlp"])
    assert app.slug == "tiny-sentiment" and app.status == AppStatus.DRAFT
    assert (app.pricing_model, app.base_price, app.k, app.max_price, app.free_calls_per_month) == (
        PricingModel.PER_CALL, Decimal("0.002"), Decimal("0.0001"), Decimal("0.01"), 20)
    assert sorted(app.tags.values_list("slug", flat=True)) == ["nlp", "sentiment"]
    assert LibraryEntry.objects.get(user=developer, app=app).source == LibrarySource.OWNER
    second = app_create(owner=developer, name="Tiny Sentiment", tagline="Again", category=category())
    assert second.slug != app.slug and second.slug.startswith("tiny-sentiment-")


def test_app_create_needs_a_developer_and_valid_fields(user, developer):
    with pytest.raises(PermissionDenied):
        app_create(owner=user, name="X", tagline="Y", category=category())
    with pytest.raises(InvalidInput) as error:
        app_create(owner=developer, name="X", tagline="", category=category())
    assert "tagline" in error.value.fields
    with pytest.raises(InvalidInput) as error:
        app_create(owner=developer, name="X", tagline="Y", category=category(),
                   pricing={"model": "per_call", "base_price": "0.5", "max_price": "0.1"})
    assert "pricing.max_price" in error.value.fields
    with pytest.raises(InvalidInput) as error:
        app_create(owner=developer, name="X", tagline="Y", category=category(), pricing={"k": "0.0000001"})
    assert "pricing.k" in error.value.fields
    with pytest.raises(InvalidInput):
        app_create(owner=developer, name="X", tagline="Y", category=category(), pricing={"model": "auction"})
    for bad_pricing in ("cheap", {"window_seconds": 2.5}, {"free_calls_per_month": True}, {"base_price": "NaN"}):
        with pytest.raises(InvalidInput):
            app_create(owner=developer, name="X", tagline="Y", category=category(), pricing=bad_pricing)
    assert not App.objects.exists()


def test_app_create_with_a_taken_slug_is_refused(developer):
    AppFactory(slug="taken")
    with pytest.raises(InvalidInput) as error:
        app_create(owner=developer, name="Taken", tagline="t", category=category(), slug="taken")
    assert "slug" in error.value.fields


def test_app_update_changes_listing_fields_pricing_and_tags():
    app = AppFactory(status=AppStatus.DRAFT)
    app = app_update(app=app, data={"name": "Renamed", "category": category("finance"), "tags": ["a"],
                                    "pricing": {"model": "per_call", "base_price": "0.01", "max_price": "0.02"}})
    app.refresh_from_db()
    assert (app.name, app.category.slug, app.pricing_model, app.base_price) == (
        "Renamed", "finance", "per_call", Decimal("0.01"))
    assert list(app.tags.values_list("slug", flat=True)) == ["a"]
    with pytest.raises(InvalidInput):
        app_update(app=app, data={"name": ""})
    app.refresh_from_db()
    assert app.name == "Renamed"


def test_submit_needs_the_owner_a_version_and_a_draft():
    app = AppFactory(status=AppStatus.DRAFT)
    assert app_submit_requirements(app)
    with pytest.raises(InvalidInput) as error:
        app_submit(app=app, actor=app.owner)
    assert "versions" in error.value.fields
    AppVersionFactory(app=app, version="0.9.0", status="invalid")
    with pytest.raises(InvalidInput):  # a version that failed the checks is not enough
        app_submit(app=app, actor=app.owner)
    AppVersionFactory(app=app, version="1.0.0", status="ready")
    assert app_submit_requirements(app) is None
    with pytest.raises(PermissionDenied):
        app_submit(app=app, actor=UserFactory())
    app = app_submit(app=app, actor=app.owner)
    assert app.status == AppStatus.IN_REVIEW
    assert AuditLog.objects.filter(action="app.submit", target_id=str(app.pk), actor=app.owner).exists()
    with pytest.raises(Conflict):
        app_submit(app=app, actor=app.owner)


def test_review_decisions_notify_the_developer_and_write_the_audit_log(moderator, django_capture_on_commit_callbacks):
    app = AppFactory(status=AppStatus.IN_REVIEW)
    with django_capture_on_commit_callbacks(execute=True):
        app_review(app=app, moderator=moderator, decision="reject", reason="  No model card.  ")
    app.refresh_from_db()
    assert (app.status, app.status_reason) == (AppStatus.REJECTED, "No model card.")
    entry = AuditLog.objects.get(action="app.reject")
    assert (entry.actor, entry.reason, entry.data) == (moderator, "No model card.", {"from": "in_review",
                                                                                      "to": "rejected"})
    assert "No model card." in Notification.objects.get(user=app.owner, kind="app.reject").message
    assert mail.outbox[-1].to == [app.owner.email] and "No model card." in mail.outbox[-1].body

    AppVersionFactory(app=app, status="ready")
    app = app_submit(app=app, actor=app.owner)  # a rejected app is fixed and sent again
    assert app.status == AppStatus.IN_REVIEW and app.status_reason == ""
    with django_capture_on_commit_callbacks(execute=True):
        app = app_review(app=app, moderator=moderator, decision="approve")
    assert app.status == AppStatus.PUBLISHED and app.published_at is not None and app.status_reason == ""
    with django_capture_on_commit_callbacks(execute=True):
        app = app_review(app=app, moderator=moderator, decision="suspend", reason="Abuse reports")
    assert app.status == AppStatus.SUSPENDED
    assert list(AuditLog.objects.order_by("created_at", "pk").values_list("action", flat=True)) == [
        "app.reject", "app.submit", "app.approve", "app.suspend"]
    assert Notification.objects.filter(user=app.owner).count() == 3
    assert len(mail.outbox) == 3


def test_review_refuses_non_moderators_missing_reasons_and_impossible_transitions(moderator, user):
    app = AppFactory(status=AppStatus.IN_REVIEW)
    with pytest.raises(PermissionDenied):
        app_review(app=app, moderator=user, decision="approve")
    with pytest.raises(InvalidInput) as error:
        app_review(app=app, moderator=moderator, decision="reject", reason="  ")
    assert "reason" in error.value.fields
    with pytest.raises(InvalidInput):
        app_review(app=app, moderator=moderator, decision="delete")
    with pytest.raises(Conflict):
        app_review(app=app, moderator=moderator, decision="suspend", reason="x")
    app.refresh_from_db()
    assert app.status == AppStatus.IN_REVIEW
    assert not AuditLog.objects.exists()


def test_version_create_checks_owner_semver_and_duplicates():
    app = AppFactory(status=AppStatus.DRAFT)
    version = app_version_create(app=app, actor=app.owner, version="1.0.0", changelog="First", task="text-generation")
    assert (version.version, version.task, version.status) == ("1.0.0", "text-generation", "uploaded")
    with pytest.raises(Conflict):
        app_version_create(app=app, actor=app.owner, version="1.0.0")
    with pytest.raises(InvalidInput) as error:
        app_version_create(app=app, actor=app.owner, version="v1")
    assert "version" in error.value.fields
    with pytest.raises(PermissionDenied):
        app_version_create(app=app, actor=UserFactory(), version="2.0.0")


def test_latest_version_prefers_the_newest_ready_one():
    app = AppFactory()
    assert app_latest_version(app=app) is None
    ready = AppVersionFactory(app=app, version="1.0.0", status="ready")
    AppVersionFactory(app=app, version="1.1.0", status="validating")
    assert app_latest_version(app=App.objects.get(pk=app.pk)) == ready


def test_acquire_adds_once_and_only_available_apps(user):
    app = AppFactory()
    assert not user_has_app(user=user, app=app)
    assert app_acquire_blocker(user=user, app=app) is None
    entry = app_acquire(user=user, app=app)
    assert app_acquire(user=user, app=app) == entry
    assert LibraryEntry.objects.filter(user=user, app=app).count() == 1
    assert user_has_app(user=user, app=app)
    with pytest.raises(Conflict):
        app_acquire(user=user, app=AppFactory(status=AppStatus.DRAFT))
    draft = AppFactory(status=AppStatus.DRAFT)
    assert user_has_app(user=draft.owner, app=draft)  # owners always have their apps


def test_review_create_needs_the_app_once_and_keeps_the_aggregate_exact():
    app = AppFactory()
    first, second = LibraryEntryFactory(app=app).user, LibraryEntryFactory(app=app).user
    with pytest.raises(PermissionDenied):
        review_create(user=UserFactory(), app=app, rating=5)
    with pytest.raises(PermissionDenied):
        review_create(user=app.owner, app=app, rating=5)
    for bad in (0, 6, "x", 3.5, None, True):
        with pytest.raises(InvalidInput):
            review_create(user=first, app=app, rating=bad)
    review_create(user=first, app=app, rating=5, text="  Great  ")
    review_create(user=second, app=app, rating=2)
    with pytest.raises(Conflict) as error:
        review_create(user=first, app=app, rating=1)
    assert error.value.code == "already_reviewed"
    app.refresh_from_db()
    assert (app.rating_sum, app.reviews_count, app.rating) == (7, 2, Decimal("3.50"))
    assert Review.objects.get(user=first).text == "Great"


def test_review_update_reply_and_delete_move_the_aggregate_exactly(moderator):
    app = AppFactory()
    reviewer = LibraryEntryFactory(app=app).user
    review = review_create(user=reviewer, app=app, rating=2)
    review_update(review=review, rating=5, text="Better now")
    app.refresh_from_db()
    assert (app.rating_sum, app.reviews_count) == (5, 1)
    with pytest.raises(InvalidInput):
        review_update(review=review, rating=9, text="")

    with pytest.raises(PermissionDenied):
        review_reply(review=review, actor=reviewer, text="me")
    with pytest.raises(InvalidInput):
        review_reply(review=review, actor=app.owner, text=" ")
    review = review_reply(review=review, actor=app.owner, text="Thanks!")
    assert review.developer_reply == "Thanks!" and review.replied_at
    assert Notification.objects.filter(user=reviewer, kind="review.reply").exists()

    with pytest.raises(PermissionDenied):
        review_delete(review=review, actor=reviewer)
    review_delete(review=review, actor=moderator, reason="spam")
    app.refresh_from_db()
    assert (app.rating_sum, app.reviews_count, app.rating) == (0, 0, Decimal("0.00"))
    assert AuditLog.objects.get(action="review.delete").reason == "spam"


def test_record_run_counts():
    app = AppFactory()
    app_record_run(app_id=app.pk)
    app_record_run(app_id=app.pk)
    app.refresh_from_db()
    assert app.runs_count == 2


def test_current_price_is_base_plus_k_times_recent_calls_capped_at_max():
    app = PaidAppFactory(base_price=Decimal("0.002"), k=Decimal("0.0001"), max_price=Decimal("0.01"))
    assert app_current_price(app=app, recent_calls=0) == Decimal("0.002000")
    assert app_current_price(app=app, recent_calls=30) == Decimal("0.005000")
    assert app_current_price(app=app, recent_calls=1000) == Decimal("0.010000")
    assert app_current_price(app=app) == app_current_price(app=app, recent_calls=app_recent_calls(app=app))
    assert app_current_price(app=AppFactory()) == Decimal("0.000000")
    assert str(app_current_price(app=app, recent_calls=1)) == "0.002100"
    free = AppFactory()
    assert app_prices(apps=[app, free]) == {app.pk: app_current_price(app=app), free.pk: Decimal("0")}


def test_visibility_drafts_are_private_published_are_public(moderator, user):
    draft = AppFactory(status=AppStatus.DRAFT)
    in_review = AppFactory(status=AppStatus.IN_REVIEW)
    published = AppFactory()
    assert app_get_visible(user=user, slug=published.slug) == published
    for hidden in (draft, in_review):
        with pytest.raises(App.DoesNotExist):
            app_get_visible(user=user, slug=hidden.slug)
    assert app_get_visible(user=draft.owner, slug=draft.slug) == draft
    assert app_get_visible(user=moderator, slug=in_review.slug) == in_review
    with pytest.raises(App.DoesNotExist):
        app_get_visible(user=moderator, slug=draft.slug)
    assert list(apps_owned_by(user=draft.owner)) == [draft]


def test_list_published_filters_searches_and_orders():
    dev = DeveloperFactory()
    a = AppFactory(owner=dev, name="Alpha Chat", tagline="talks", category=category("games"), runs_count=5,
                   ready=True)
    b = PaidAppFactory(owner=dev, name="Beta Risk", tagline="money risk scorer", category=category("finance"),
                       runs_count=50, base_price=Decimal("0.03"), ready=True)
    c = AppFactory(owner=dev, name="Gamma Tutor", tagline="teaches", category=category("education"), runs_count=1,
                   rating_sum=9, reviews_count=2, ready=True)
    AppFactory(status=AppStatus.DRAFT, name="Hidden Risk")
    assert list(app_list_published()) == [b, a, c]
    assert list(app_list_published(ordering="-rating"))[0] == c
    assert list(app_list_published(ordering="-created")) == [c, b, a]
    assert list(app_list_published(ordering="price"))[-1] == b
    assert list(app_list_published(category="finance")) == [b]
    assert list(app_list_published(search="risk")) == [b]
    assert list(app_list_published(search="alpha")) == [a]
