"""The contents of a data export: one JSON file per topic, everything the user owns, nobody else's data.

Each topic is a function that yields JSON-ready rows for one user; `export_write` streams them into a zip, so a
user with a million predictions does not need a million rows in memory. Predictions are decrypted here (the
export is the owner reading their own data). API keys are listed without their secrets (only hashes are stored).
"""
from __future__ import annotations

import datetime as dt
import json
import zipfile
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import IO, Any

from django.apps import apps as django_apps
from django.conf import settings
from django.utils import timezone

from accounts.models import ApiKey, Notification, User
from billing.models import Entry, Wallet
from community.models import Post, Thread
from inference.models import Prediction, WebhookDelivery
from marketplace.models import App, AppVersion, LibraryEntry, Review

CHUNK = 500
Row = dict[str, Any]


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return f"{value:.6f}"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def profile(user: User) -> Iterator[Row]:
    from allauth.account.models import EmailAddress
    from allauth.socialaccount.models import SocialAccount

    yield {
        "id": user.pk, "username": user.username, "email": user.email, "first_name": user.first_name,
        "last_name": user.last_name, "bio": user.bio, "website": user.website, "is_developer": user.is_developer,
        "developer_terms_accepted_at": user.developer_terms_accepted_at, "date_joined": user.date_joined,
        "last_login": user.last_login,
        "email_addresses": [{"email": e.email, "verified": e.verified, "primary": e.primary}
                            for e in EmailAddress.objects.filter(user=user)],
        "connected_accounts": [{"provider": a.provider, "uid": a.uid, "date_joined": a.date_joined}
                               for a in SocialAccount.objects.filter(user=user)],
    }


def apps(user: User) -> Iterator[Row]:
    for app in App.objects.filter(owner=user).select_related("category").order_by("pk"):
        yield {
            "slug": app.slug, "name": app.name, "tagline": app.tagline, "description": app.description,
            "category": app.category.slug, "status": app.status, "status_reason": app.status_reason,
            "pricing_model": app.pricing_model, "base_price": app.base_price, "k": app.k,
            "window_seconds": app.window_seconds, "max_price": app.max_price,
            "free_calls_per_month": app.free_calls_per_month, "purchase_price": app.purchase_price,
            "retention_days": app.retention_days, "runs": app.runs_count, "created_at": app.created_at,
            "published_at": app.published_at,
        }


def versions(user: User) -> Iterator[Row]:
    queryset = AppVersion.objects.filter(app__owner=user).select_related("app").order_by("app_id", "pk")
    for version in queryset.iterator(chunk_size=CHUNK):
        yield {
            "app": version.app.slug, "version": version.version, "task": version.task,
            "framework": version.framework, "hardware": version.hardware, "status": version.status,
            "error": version.error, "sha256": version.sha256, "size": version.size, "changelog": version.changelog,
            "metrics": version.metrics, "model_card": version.model_card, "created_at": version.created_at,
            "validated_at": version.validated_at,
        }


def predictions(user: User) -> Iterator[Row]:
    queryset = (Prediction.objects.filter(user=user).select_related("app", "version")
                .order_by("created_at", "pk"))
    for prediction in queryset.iterator(chunk_size=CHUNK):
        yield {
            "id": prediction.pk, "app": prediction.app.slug, "version": prediction.version.version,
            "status": prediction.status, "input": prediction.input, "output": prediction.output,
            "data_removed": prediction.data_removed, "store": prediction.store, "error": prediction.error,
            "price": prediction.price, "currency": prediction.currency, "metrics": prediction.metrics,
            "webhook": prediction.webhook, "created_at": prediction.created_at,
            "started_at": prediction.started_at, "completed_at": prediction.completed_at,
        }


def webhook_deliveries(user: User) -> Iterator[Row]:
    queryset = WebhookDelivery.objects.filter(prediction__user=user).order_by("created_at", "pk")
    for delivery in queryset.iterator(chunk_size=CHUNK):
        yield {
            "id": delivery.pk, "prediction": delivery.prediction_id, "event": delivery.event, "url": delivery.url,
            "message_id": delivery.message_id, "status": delivery.status, "attempts": delivery.attempts,
            "response_status": delivery.response_status, "response_body": delivery.response_body,
            "last_error": delivery.last_error, "created_at": delivery.created_at,
            "delivered_at": delivery.delivered_at,
        }


def ledger(user: User) -> Iterator[Row]:
    """The wallet statement first, then every ledger line on the user's own accounts."""
    wallet = Wallet.objects.filter(user=user).first()
    yield {
        "wallet": None if wallet is None else {
            "balance": wallet.balance, "held": wallet.held, "monthly_budget": wallet.monthly_budget,
            "currency": settings.CURRENCY,
        },
    }
    queryset = (Entry.objects.filter(account__user=user).select_related("transaction", "account", "transaction__app")
                .order_by("transaction__created_at", "pk"))
    for entry in queryset.iterator(chunk_size=CHUNK):
        txn = entry.transaction
        yield {
            "id": entry.pk, "transaction": txn.pk, "kind": txn.kind, "account": entry.account.kind,
            "amount": entry.amount, "currency": settings.CURRENCY, "memo": txn.memo,
            "app": txn.app.slug if txn.app else None, "prediction": txn.prediction_id or None,
            "created_at": txn.created_at,
        }


def api_keys(user: User) -> Iterator[Row]:
    for key in ApiKey.objects.filter(user=user).order_by("pk"):
        yield {
            "id": key.pk, "name": key.name, "prefix": key.prefix, "scopes": key.scopes, "spend_cap": key.spend_cap,
            "rate_limit": key.rate_limit, "created_at": key.created_at, "last_used_at": key.last_used_at,
            "revoked_at": key.revoked_at,
        }


def forum_threads(user: User) -> Iterator[Row]:
    for thread in Thread.objects.filter(author=user).select_related("category").order_by("pk"):
        yield {"id": thread.pk, "category": thread.category.slug, "title": thread.title, "kind": thread.kind,
               "created_at": thread.created_at}


def forum_posts(user: User) -> Iterator[Row]:
    for post in Post.objects.filter(author=user).order_by("pk").iterator(chunk_size=CHUNK):
        yield {"id": post.pk, "thread": post.thread_id, "number": post.number, "body": post.body,
               "hidden": post.hidden, "created_at": post.created_at, "edited_at": post.edited_at}


def reviews(user: User) -> Iterator[Row]:
    for review in Review.objects.filter(user=user).select_related("app").order_by("pk"):
        yield {"app": review.app.slug, "rating": review.rating, "text": review.text, "created_at": review.created_at,
               "updated_at": review.updated_at}


def library(user: User) -> Iterator[Row]:
    for entry in LibraryEntry.objects.filter(user=user).select_related("app").order_by("pk"):
        yield {"app": entry.app.slug, "source": entry.source, "acquired_at": entry.acquired_at}


def notifications(user: User) -> Iterator[Row]:
    for notification in Notification.objects.filter(user=user).order_by("pk").iterator(chunk_size=CHUNK):
        yield {"kind": notification.kind, "message": notification.message, "url": notification.url,
               "created_at": notification.created_at, "read_at": notification.read_at}


def datasets(user: User) -> Iterator[Row]:
    """Fine-tuning datasets (metadata; the files themselves are downloadable from the training pages)."""
    model = django_apps.get_model("training", "Dataset")
    for dataset in model.objects.filter(owner=user).order_by("pk"):
        yield {"id": dataset.pk, "name": dataset.name, "format": dataset.format, "rows": dataset.rows,
               "size": dataset.size, "sha256": dataset.sha256, "labels": dataset.labels,
               "created_at": getattr(dataset, "created_at", None)}


# file name -> rows; profile.json and ledger.json hold one object, the others a list
TOPICS: dict[str, Callable[[User], Iterable[Row]]] = {
    "profile.json": profile, "apps.json": apps, "versions.json": versions, "predictions.json": predictions,
    "webhook_deliveries.json": webhook_deliveries, "ledger.json": ledger, "api_keys.json": api_keys,
    "forum_threads.json": forum_threads, "forum_posts.json": forum_posts, "reviews.json": reviews,
    "library.json": library, "notifications.json": notifications, "datasets.json": datasets,
}


def _write_list(stream: IO[bytes], rows: Iterable[Row]) -> int:
    count = 0
    stream.write(b"[")
    for row in rows:
        stream.write((b",\n" if count else b"\n") + json.dumps(row, default=_json_default, ensure_ascii=False).encode())
        count += 1
    stream.write(b"\n]\n" if count else b"]\n")
    return count


def export_write(*, user: User, target: IO[bytes]) -> dict[str, int]:
    """Write the zip to `target` (a binary file). Answers rows per file."""
    counts: dict[str, int] = {}
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, topic in TOPICS.items():
            with archive.open(name, "w") as stream:
                if name == "profile.json":
                    stream.write(json.dumps(next(iter(topic(user))), default=_json_default, indent=2,
                                            ensure_ascii=False).encode())
                    counts[name] = 1
                elif name == "ledger.json":
                    rows = iter(topic(user))
                    head = next(rows)
                    stream.write(b'{"wallet": ' + json.dumps(head["wallet"], default=_json_default).encode()
                                 + b', "entries": ')
                    counts[name] = _write_list(stream, rows)
                    stream.write(b"}\n")
                else:
                    counts[name] = _write_list(stream, topic(user))
        manifest = {"user": user.pk, "generated_at": timezone.now(), "files": counts}
        archive.writestr("manifest.json", json.dumps(manifest, default=_json_default, indent=2))
    return counts
