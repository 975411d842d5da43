"""Writes for the marketplace: the app lifecycle, versions, library and reviews.

Services raise `config.errors` classes: `InvalidInput` (400, with `fields`), `PermissionDenied` (403) and
`Conflict` (409: the app's or the review's state forbids the action).
"""
import re
import secrets
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts import org_permissions
from accounts.models import Organisation, User
from accounts.services import audit_log_record, notification_send
from config.errors import Conflict, InvalidInput, PermissionDenied

from .models import (
    App,
    AppStatus,
    AppVersion,
    Category,
    LibraryEntry,
    LibrarySource,
    PricingModel,
    Review,
    Tag,
    VersionStatus,
)
from .pricing_port import purchase_gate

SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
PRICING_FIELDS = ("base_price", "k", "window_seconds", "max_price", "free_calls_per_month", "purchase_price")
EDITABLE_FIELDS = ("name", "tagline", "description", "category", "icon", "retention_days")


def _unique_slug(name: str) -> str:
    base = slugify(name)[:60] or "app"
    slug = base
    while App.objects.filter(slug=slug).exists():
        slug = f"{base}-{secrets.token_hex(2)}"
    return slug


def _full_clean(instance: App | AppVersion, exclude: list[str] | None = None) -> None:
    """The model's own validation, as the domain's InvalidInput."""
    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as error:
        raise InvalidInput.from_validation_error(error) from None


def _state_conflict(field: str, message: str, *, code: str) -> Conflict:
    """409: the object's state forbids the action; `fields` names what the caller would have to change."""
    return Conflict(message, code=code, fields={field: [message]})


def _apply_pricing(app: App, pricing: dict[str, Any] | None) -> None:
    if not pricing:
        return
    if not isinstance(pricing, dict):
        raise InvalidInput(fields={"pricing": [_("Pricing must be an object of pricing fields.")]})
    model = pricing.get("model", app.pricing_model)
    if model not in PricingModel.values:
        raise InvalidInput(fields={"pricing": [_("Pricing model must be 'free' or 'per_call'.")]})
    app.pricing_model = model
    errors: dict[str, list[str]] = {}
    for field in PRICING_FIELDS:
        if field not in pricing:
            continue
        value = pricing[field]
        if value is None and field == "purchase_price":
            app.purchase_price = None
            continue
        number: int | Decimal
        try:
            if field in ("window_seconds", "free_calls_per_month"):
                if isinstance(value, bool) or Decimal(str(value)) != int(value):
                    raise ValueError  # no silent rounding of 2.5 calls
                number = int(value)
                if number < 0 or (field == "window_seconds" and number < 1):
                    raise ValueError
            else:
                number = Decimal(str(value))
                exponent = number.as_tuple().exponent
                if not number.is_finite() or number < 0 or (isinstance(exponent, int) and exponent < -6):
                    raise ValueError
        except (ValueError, ArithmeticError, TypeError):
            errors[f"pricing.{field}"] = [_("Enter a non-negative number (money has at most 6 decimal places).")]
            continue
        setattr(app, field, number)
    if app.pricing_model == PricingModel.PER_CALL and app.max_price < app.base_price:
        errors["pricing.max_price"] = [_("The maximum price cannot be below the base price.")]
    if errors:
        raise InvalidInput(fields=errors)


def _set_tags(app: App, tags: list[str] | None) -> None:
    if tags is None:
        return
    objects = []
    for raw in tags[:10]:
        name = str(raw).strip()[:50]
        slug = slugify(name)
        if slug:
            objects.append(Tag.objects.get_or_create(slug=slug, defaults={"name": name})[0])
    app.tags.set(objects)


@transaction.atomic
def app_create(
    *, owner: User, name: str, tagline: str, category: Category, description: str = "",
    pricing: dict[str, Any] | None = None, tags: list[str] | None = None, icon: Any = None, slug: str | None = None,
    retention_days: int | None = None, org: Organisation | None = None,
) -> App:
    """A new draft owned by `owner`, who gets it in their library. `slug` is derived from the name unless given.

    With `org` (the owner needs its `apps.publish` right) the org owns the app's earnings.
    """
    if not owner.is_developer:
        raise PermissionDenied(_("Become a developer first: accept the developer terms."))
    if org is not None and not org_permissions.org_can(owner, org, org_permissions.APPS_PUBLISH):
        raise PermissionDenied(_("Your role in this organisation does not allow this."))
    if slug is not None and App.objects.filter(slug=slug).exists():
        raise InvalidInput(fields={"slug": [_("An app with this address already exists.")]})
    app = App(owner=owner, name=name.strip(), tagline=tagline.strip(), description=description,
              category=category, slug=slug or _unique_slug(name), org=org)
    if icon:
        app.icon = icon
    if retention_days is not None:
        app.retention_days = retention_days
    _apply_pricing(app, pricing)
    _full_clean(app)
    app.save()
    _set_tags(app, tags)
    LibraryEntry.objects.get_or_create(user=owner, app=app, defaults={"source": LibrarySource.OWNER})
    return app


def _pricing_snapshot(app: App) -> dict[str, Any]:
    return {"model": app.pricing_model, **{field: getattr(app, field) for field in PRICING_FIELDS}}


def _pricing_restore(app: App, snapshot: dict[str, Any]) -> None:
    app.pricing_model = snapshot["model"]
    for field in PRICING_FIELDS:
        setattr(app, field, snapshot[field])


@transaction.atomic
def app_update(*, app: App, data: dict[str, Any]) -> App:
    """Edit listing fields; pricing and tags are optional keys of `data`.

    Once an app was approved, a pricing change is held for review (`pending_pricing`): buyers keep seeing
    and paying the approved prices until a moderator approves the new ones.
    """
    app = App.objects.select_for_update().get(pk=app.pk)
    for field in EDITABLE_FIELDS:
        if field in data:
            setattr(app, field, data[field])
    approved = _pricing_snapshot(app)
    _apply_pricing(app, data.get("pricing"))
    if app.published_at is not None and _pricing_snapshot(app) != approved:
        app.pending_pricing = {key: None if value is None else str(value)
                               for key, value in _pricing_snapshot(app).items()}
        _pricing_restore(app, approved)
    _full_clean(app)
    app.save()
    _set_tags(app, data.get("tags"))
    return app


def app_submit_requirements(app: App) -> str | None:
    """Why the app cannot go to review yet, or None. Inference tightens this to a `ready` version."""
    if not app.versions.exists():
        return _("Add at least one version before submitting for review.")
    # Inference: reviewers and users need a model that passed the platform's checks.
    if not app.versions.filter(status=VersionStatus.READY).exists():
        if app.versions.filter(status__in=[VersionStatus.UPLOADED, VersionStatus.VALIDATING]).exists():
            return _("Your model is still being checked; submit once a version is ready.")
        return _("No version is ready: upload a model that passes the checks (see the version's error).")
    return None


@transaction.atomic
def app_submit(*, app: App, actor: User) -> App:
    app = App.objects.select_for_update().get(pk=app.pk)
    if not app.is_managed_by(actor):
        raise PermissionDenied(_("Only the owner can submit this app."))
    if app.status not in (AppStatus.DRAFT, AppStatus.REJECTED):
        raise _state_conflict("status", _("Only drafts and rejected apps can be submitted for review."),
                              code="invalid_state")
    problem = app_submit_requirements(app)
    if problem:
        raise InvalidInput(fields={"versions": [problem]})
    app.status = AppStatus.IN_REVIEW
    app.status_reason = ""
    app.save(update_fields=["status", "status_reason", "updated_at"])
    audit_log_record(actor=actor, action="app.submit", target=app)
    return app


REVIEW_TRANSITIONS = {
    "approve": ({AppStatus.IN_REVIEW, AppStatus.SUSPENDED, AppStatus.REJECTED}, AppStatus.PUBLISHED),
    "reject": ({AppStatus.IN_REVIEW}, AppStatus.REJECTED),
    "suspend": ({AppStatus.PUBLISHED}, AppStatus.SUSPENDED),
}


def app_has_held_changes(app: App) -> bool:
    """A published app with a new version or a pricing change waiting for a moderator."""
    return app.pending_pricing is not None or app.versions.filter(held_for_review=True).exists()


def _held_changes_decide(*, app: App, moderator: User, decision: str, reason: str) -> App:
    """Approve (apply the pending pricing, release held versions) or reject (drop them) a published app's changes."""
    if decision == "approve":
        if app.pending_pricing is not None:
            _apply_pricing(app, {key: value for key, value in app.pending_pricing.items()})
        app.pending_pricing = None
        _full_clean(app)
        app.save()
        AppVersion.objects.filter(app=app, held_for_review=True).update(held_for_review=False)
        text = _("The changes to your app “%(name)s” were approved and are live.") % {"name": app.name}
    else:
        app.pending_pricing = None
        app.save(update_fields=["pending_pricing", "updated_at"])
        AppVersion.objects.filter(app=app, held_for_review=True).update(
            held_for_review=False, status=VersionStatus.INVALID,
            error=_("Rejected in review: %(reason)s") % {"reason": reason})
        text = _("The changes to your app “%(name)s” were rejected: %(reason)s") % {"name": app.name,
                                                                                   "reason": reason}
    audit_log_record(actor=moderator, action=f"app.changes_{decision}", target=app, reason=reason)
    notification_send(user=app.owner, kind=f"app.changes_{decision}", message=text,
                      url=reverse("marketplace:console_app", kwargs={"slug": app.slug}))
    return app


# What comes with a publication, registered by the apps above marketplace in their AppConfig.ready()
# (community gives each published app its forum category). Marketplace never imports them.
AppPublishedCallback = Callable[[App], None]
_app_published_callbacks: list[AppPublishedCallback] = []


def app_published_subscribe(callback: AppPublishedCallback) -> AppPublishedCallback:
    """Call `callback(app)` inside the transaction that publishes an app (approval, or approval again)."""
    if callback not in _app_published_callbacks:
        _app_published_callbacks.append(callback)
    return callback


def _after_publish(app: App) -> None:
    for callback in _app_published_callbacks:
        callback(app)


@transaction.atomic
def app_review(*, app: App, moderator: User, decision: str, reason: str = "") -> App:
    if not moderator.is_moderator:
        raise PermissionDenied(_("Only moderators can review apps."))
    if decision not in REVIEW_TRANSITIONS:
        raise InvalidInput(fields={"decision": [_("Decision must be approve, reject or suspend.")]})
    allowed_from, target = REVIEW_TRANSITIONS[decision]
    app = App.objects.select_for_update().get(pk=app.pk)
    if app.owner_id == moderator.pk:
        raise PermissionDenied(_("Moderators cannot review their own apps."))
    reason = (reason or "").strip()
    if app.status == AppStatus.PUBLISHED and decision in ("approve", "reject") and app_has_held_changes(app):
        if decision == "reject" and not reason:
            raise InvalidInput(fields={"reason": [_("Give the developer a reason.")]})
        return _held_changes_decide(app=app, moderator=moderator, decision=decision, reason=reason)
    if app.status not in allowed_from:
        raise _state_conflict("decision", _("Cannot %(decision)s an app that is %(status)s.")
                              % {"decision": decision, "status": app.status}, code="invalid_state")
    reason = (reason or "").strip()
    if decision in ("reject", "suspend") and not reason:
        raise InvalidInput(fields={"reason": [_("Give the developer a reason.")]})
    previous_status = app.status
    app.status = target
    app.status_reason = reason
    fields = ["status", "status_reason", "updated_at"]
    if target == AppStatus.PUBLISHED and app.published_at is None:
        app.published_at = timezone.now()
        fields.append("published_at")
    app.save(update_fields=fields)
    if target == AppStatus.PUBLISHED:
        _after_publish(app)
    audit_log_record(actor=moderator, action=f"app.{decision}", target=app, reason=app.status_reason,
                     data={"from": previous_status, "to": target})
    templates = {
        "approve": gettext_noop("Your app “%(name)s” was approved and is now published."),
        "reject": gettext_noop("Your app “%(name)s” was rejected: %(reason)s"),
        "suspend": gettext_noop("Your app “%(name)s” was suspended: %(reason)s"),
    }
    console_url = reverse("marketplace:console_app", kwargs={"slug": app.slug})
    notification_send(user=app.owner, kind=f"app.{decision}", template=templates[decision],
                      params={"name": app.name, "reason": app.status_reason}, url=console_url,
                      email_subject=_("ModelMarket: %(name)s") % {"name": app.name})
    return app


@transaction.atomic
def app_version_create(
    *, app: App, actor: User, version: str, changelog: str = "", **fields: Any,
) -> AppVersion:
    if not app.is_managed_by(actor):
        raise PermissionDenied(_("Only the owner can add versions."))
    if not SEMVER.match(version or ""):
        raise InvalidInput(fields={"version": [_("Use a semantic version such as 1.0.0.")]})
    if AppVersion.objects.filter(app=app, version=version).exists():
        raise _state_conflict("version", _("Version %(version)s already exists.") % {"version": version},
                              code="version_exists")
    # Once the app was approved, a new version runs for its owner only until a moderator approves it.
    fields.setdefault("held_for_review", app.published_at is not None)
    app_version = AppVersion(app=app, version=version, changelog=changelog, **fields)
    _full_clean(app_version, exclude=["artifact"])
    app_version.save()
    return app_version


def user_has_app(*, user: User, app: App) -> bool:
    if not user.is_authenticated:
        return False
    return app.owner_id == user.pk or LibraryEntry.objects.filter(user=user, app=app).exists()


def app_acquire_blocker(*, user: User, app: App) -> dict[str, Any] | None:
    """Why `user` cannot simply add `app` (a purchase to make), or None. Billing fills this in (pricing_port)."""
    from django.conf import settings

    gate = purchase_gate()
    if not gate.app_needs_purchase(user=user, app=app):
        return None
    return {"checkout_url": gate.purchase_checkout_url(user=user, app=app), "price": str(app.purchase_price),
            "currency": settings.CURRENCY}


@transaction.atomic
def app_acquire(*, user: User, app: App, source: str = LibrarySource.FREE) -> LibraryEntry:
    if app.status != AppStatus.PUBLISHED and app.owner_id != user.pk:
        raise _state_conflict("app", _("This app is not available."), code="not_available")
    existing = LibraryEntry.objects.filter(user=user, app=app).first()
    if existing:
        return existing
    try:
        with transaction.atomic():
            return LibraryEntry.objects.create(user=user, app=app, source=source)
    except IntegrityError:
        return LibraryEntry.objects.get(user=user, app=app)


def _valid_rating(rating: Any) -> int:
    try:
        value = int(rating)
    except (TypeError, ValueError):
        value = 0
    if isinstance(rating, bool) or not 1 <= value <= 5 or str(value) != str(rating).strip():
        raise InvalidInput(fields={"rating": [_("Rating must be a whole number from 1 to 5.")]})
    return value


@transaction.atomic
def review_create(*, user: User, app: App, rating: int, text: str = "") -> Review:
    """One review per user; the aggregate moves with F() so concurrent reviews stay exact."""
    if app.owner_id == user.pk:
        raise PermissionDenied(_("You cannot review your own app."))
    if not LibraryEntry.objects.filter(user=user, app=app).exists():
        raise PermissionDenied(_("Get the app before reviewing it."))
    rating = _valid_rating(rating)
    already = _("You have already reviewed this app; edit your review instead.")
    if Review.objects.filter(app=app, user=user).exists():
        raise _state_conflict("rating", already, code="already_reviewed")
    try:
        with transaction.atomic():
            review = Review.objects.create(app=app, user=user, rating=rating, text=(text or "").strip())
    except IntegrityError:
        raise _state_conflict("rating", already, code="already_reviewed") from None
    App.objects.filter(pk=app.pk).update(rating_sum=F("rating_sum") + rating, reviews_count=F("reviews_count") + 1)
    return review


@transaction.atomic
def review_update(*, review: Review, rating: int, text: str) -> Review:
    rating = _valid_rating(rating)
    review = Review.objects.select_for_update().get(pk=review.pk)
    delta = rating - review.rating
    review.rating = rating
    review.text = (text or "").strip()
    review.save(update_fields=["rating", "text", "updated_at"])
    if delta:
        App.objects.filter(pk=review.app_id).update(rating_sum=F("rating_sum") + delta)
    return review


@transaction.atomic
def review_reply(*, review: Review, actor: User, text: str) -> Review:
    if review.app.owner_id != actor.pk:
        raise PermissionDenied(_("Only the app's developer can reply."))
    text = (text or "").strip()
    if not text:
        raise InvalidInput(fields={"text": [_("Write a reply.")]})
    review.developer_reply = text
    review.replied_at = timezone.now()
    review.save(update_fields=["developer_reply", "replied_at"])
    notification_send(user=review.user, kind="review.reply",
                      template=gettext_noop("The developer of %(name)s replied to your review."),
                      params={"name": review.app.name},
                      url=review.app.get_absolute_url())
    return review


@transaction.atomic
def review_delete(*, review: Review, actor: User, reason: str = "") -> None:
    """Moderators remove a review; the app's aggregate moves back exactly and the audit log says why."""
    if not actor.is_moderator:
        raise PermissionDenied(_("Only moderators can remove reviews."))
    locked = Review.objects.select_for_update().filter(pk=review.pk).first()
    if locked is None:
        return
    App.objects.filter(pk=locked.app_id).update(
        rating_sum=F("rating_sum") - locked.rating, reviews_count=F("reviews_count") - 1
    )
    audit_log_record(actor=actor, action="review.delete", target=locked, reason=reason,
                     data={"app": locked.app_id, "user": locked.user_id, "rating": locked.rating, "text": locked.text})
    locked.delete()


def app_record_run(*, app_id: int) -> None:
    """Count a run without a read-modify-write race."""
    App.objects.filter(pk=app_id).update(runs_count=F("runs_count") + 1)
