"""Reads for inference: predictions of a caller, the JSON they are shown as, workers alive."""
import functools
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from config.hot_rows import RowShape, fetch_one
from marketplace.models import App, AppStatus, AppVersion, LibraryEntry, VersionStatus

from .models import Prediction, WebhookDelivery, WorkerHeartbeat

# A worker whose last heartbeat is older than this is gone (its queues are not served).
HEARTBEAT_TTL = timedelta(seconds=60)


def queue_is_served(*, queue: str) -> bool:
    since = timezone.now() - HEARTBEAT_TTL
    return any(queue in (beat.queues or []) for beat in WorkerHeartbeat.objects.filter(last_seen__gte=since))


def prediction_target(*, user: User | AnonymousUser | None, slug: str, version: str | None = None,
                      ) -> AppVersion | None:
    """The ready version a call of app `slug` would run, its app, and whether the caller has the app: ONE query,
    written once per process (`config.hot_rows`), as it runs on every call.

    The app must be published or the caller's; a version held for review runs for its owner only. None when
    anything is off (unknown or invisible app, no ready version, ...): the caller then takes the slow path,
    which names the exact error.
    """
    if not (user and user.is_authenticated):
        return None
    row = fetch_one(_target_sql(with_version=bool(version)),
                    [user.pk, slug, VersionStatus.READY, AppStatus.PUBLISHED, user.pk, user.pk,
                     *([version] if version else [])])
    if row is None:
        return None
    found = _VERSION_ROW.build(row)
    app = _APP_ROW.build(row, len(_VERSION_ROW))
    app.caller_has_app = bool(row[-1])  # type: ignore[attr-defined]  # read by prediction_create
    found.app = app  # type: ignore[attr-defined]
    return found  # type: ignore[return-value]


_VERSION_ROW = RowShape(AppVersion, "v")
_APP_ROW = RowShape(App, "a")


@functools.cache
def _target_sql(*, with_version: bool) -> str:
    # Only model metadata is formatted in; every value is a parameter.
    sql = (f"SELECT {_VERSION_ROW.select}, {_APP_ROW.select}, EXISTS (SELECT 1 FROM "  # noqa: S608
           f"{LibraryEntry._meta.db_table} l WHERE l.user_id = %s AND l.app_id = v.app_id) "
           f"FROM {_VERSION_ROW.table} v JOIN {_APP_ROW.table} a ON a.id = v.app_id "
           "WHERE a.slug = %s AND v.status = %s AND (a.status = %s OR a.owner_id = %s) "
           "AND (NOT v.held_for_review OR a.owner_id = %s)")
    if with_version:
        sql += " AND v.version = %s"
    # as the ORM's order_by("-validated_at", "-created_at"): DESC, NULLs first on PostgreSQL
    return sql + " ORDER BY v.validated_at DESC, v.created_at DESC LIMIT 1"


def prediction_list_for(*, user: User | AnonymousUser | None, app: App | None = None) -> QuerySet[Prediction]:
    queryset = Prediction.objects.for_caller(user).select_related("app", "version")
    if app is not None:
        queryset = queryset.filter(app=app)
    return queryset


def prediction_get_for(*, user: User | AnonymousUser | None, prediction_id: UUID | str) -> Prediction:
    """The caller's prediction or 404 (someone else's answers 404, not 403)."""
    return get_object_or_404(prediction_list_for(user=user), pk=prediction_id)


def deliveries_for(*, user: User, prediction: Prediction | None = None) -> QuerySet[WebhookDelivery]:
    queryset = WebhookDelivery.objects.filter(prediction__user=user).select_related("prediction", "prediction__app")
    if prediction is not None:
        queryset = queryset.filter(prediction=prediction)
    return queryset


def versions_visible(*, app: App, user: User | AnonymousUser | None) -> QuerySet[AppVersion]:
    """Everyone who can see the app sees its ready versions; those who manage it (`App.is_managed_by`) and
    moderators see all of them."""
    queryset = app.versions.all()
    if not (user and user.is_authenticated and (user.is_moderator or app.is_managed_by(user))):
        queryset = queryset.filter(status="ready")
    return queryset


def _absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def prediction_payload(*, prediction: Prediction) -> dict[str, Any]:
    """The prediction exactly as API.md shows it (webhooks send this too)."""
    metrics = prediction.metrics or {}
    pid = str(prediction.pk)
    return {
        "id": pid,
        "app": prediction.app.slug,
        "version": prediction.version.version,
        "status": prediction.status,
        "input": None if prediction.data_removed else prediction.input,
        "output": None if prediction.data_removed else prediction.output,
        "data_removed": prediction.data_removed,
        "store": prediction.store,
        "error": prediction.error or None,
        "logs": prediction.logs,
        "price": f"{prediction.price:.6f}",
        "currency": prediction.currency,
        "metrics": {key: metrics.get(key) for key in ("queue_ms", "load_ms", "predict_ms", "batch_size")},
        "hardware": prediction.hardware,
        "device": prediction.device,
        "compute_seconds": f"{prediction.compute_seconds:.6f}",
        "created_at": prediction.created_at.isoformat() if prediction.created_at else None,
        "started_at": prediction.started_at.isoformat() if prediction.started_at else None,
        "completed_at": prediction.completed_at.isoformat() if prediction.completed_at else None,
        "urls": {
            "get": _absolute(reverse("inference-api:prediction-detail", args=[pid])),
            "cancel": _absolute(reverse("inference-api:prediction-cancel", args=[pid])),
            "stream": _absolute(reverse("inference-api:prediction-stream", args=[pid])),
        },
    }
