"""Predictions, web side: pick the version, admit and price through billing, queue, wait, cancel.

Running a prediction is the worker's part (`inference.worker.execute`).
"""
from __future__ import annotations

import logging
import re
import time
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import ApiKey, User
from billing import contract as billing
from config.database import connection_give_back
from config.errors import InvalidInput, PermissionDenied, Unavailable
from config.hot_rows import RowShape, insert_rows, transaction_begun
from config.metrics import record_prediction_created
from config.observability import current_request_id
from marketplace.models import App, AppStatus, AppVersion, Hardware, VersionStatus
from marketplace.services import user_has_app

from .. import schemas
from ..dispatch import Message, dispatch_mode, dispatch_push, priority_high
from ..metrics import record_prediction_final
from ..models import Prediction, PredictionStatus
from ..notify import notify_done
from ..selectors import queue_is_served
from .webhooks import WEBHOOK_EVENTS, webhook_event_queue, webhook_url_problem

_PREDICTION_ROW = RowShape(Prediction, "p")  # the waiter's re-read, on every `Prefer: wait` answer

logger = logging.getLogger(__name__)


def queue_for(*, hardware: str) -> str:
    """The queue for a version's hardware: GPU if a GPU worker is alive, else CPU when allowed, else 503."""
    if hardware != Hardware.GPU:
        return "inference-cpu"
    if queue_is_served(queue="inference-gpu"):
        return "inference-gpu"
    if settings.ALLOW_GPU_FALLBACK_TO_CPU:
        return "inference-cpu"
    raise Unavailable(_("No GPU worker is available for this app right now; try again later."),
                      code="no_gpu_worker", headers={"Retry-After": "30"})


def _pick_version(app: App, version: str | None, user: User | None = None, *,
                  include_held: bool = False) -> AppVersion:
    ready = app.versions.filter(status=VersionStatus.READY)
    if not include_held and (user is None or user.pk != app.owner_id):
        ready = ready.filter(held_for_review=False)  # a new version waits for review; its owner may try it
    if version:
        found = ready.filter(version=version).first()
        if found is None:
            exists = app.versions.filter(version=version).exists()
            message = (_("Version %(v)s is not ready to run.") if exists else _("Version %(v)s does not exist.")) % {
                "v": version}
            raise InvalidInput(message, fields={"version": [message]})
        return found
    found = ready.order_by("-validated_at", "-created_at").first()
    if found is None:
        raise Unavailable(_("This app has no ready version yet."), code="no_ready_version")
    return found


def prediction_create(
    *, user: User, app: App, input: Any, version: str | None = None, api_key: ApiKey | None = None,  # noqa: A002
    quote_id: str | None = None, max_price: Decimal | None = None, webhook: str = "",
    webhook_events_filter: list[str] | None = None, stream: bool = False, idempotency_key: str = "",
    app_version: AppVersion | None = None, review_run: bool = False, store: bool = True,
) -> tuple[Prediction, bool]:
    """Admit, price and queue a prediction. Answers (prediction, created); the same key answers the same one.

    `review_run=True` is a moderator's test run from the admin (never the API): any ready version of any app,
    held for review or in review included, without the app in their library and at no charge.

    `app_version` is the ready version already picked by `selectors.prediction_target` (which also tells
    whether the caller has the app): the whole web side is then auth, that one read, and ONE statement for a
    free call (the Charge and Prediction INSERTs together, `config.hot_rows.insert_rows`, no transaction), or
    one transaction of 2-3 for a paid one (demand count, the conditional hold UPDATE, the INSERTs).
    """
    if idempotency_key:
        existing = Prediction.objects.filter(user=user, idempotency_key=idempotency_key).first()
        if existing:
            return existing, False
    if review_run:
        if not user.is_moderator:
            raise PermissionDenied(_("Only moderators can test-run apps for review."))
    else:
        has_app = getattr(app, "caller_has_app", None)
        if app.owner_id != user.pk and app.status == AppStatus.PUBLISHED and has_app is None:
            has_app = user_has_app(user=user, app=app)
        if not (app.owner_id == user.pk or (app.status == AppStatus.PUBLISHED and has_app)):
            raise PermissionDenied(_("Add this app to your library before running it."))
    if app_version is None or app_version.app_id != app.pk or app_version.status != VersionStatus.READY:
        app_version = _pick_version(app, version, user, include_held=review_run)
    data = schemas.input_validate(task=app_version.task, data=input)
    if webhook and (problem := webhook_url_problem(webhook)):
        raise InvalidInput(problem, fields={"webhook": [problem]})
    events = list(webhook_events_filter or ["completed"])
    unknown = [event for event in events if event not in WEBHOOK_EVENTS]
    if unknown:
        message = _("Events are: %(events)s.") % {"events": ", ".join(WEBHOOK_EVENTS)}
        raise InvalidInput(message, fields={"webhook_events_filter": [message]})
    queue = queue_for(hardware=app_version.hardware)
    try:
        with transaction.atomic():
            prediction = Prediction(
                app=app, version=app_version, user=user, api_key=api_key, input=data, quote_id=quote_id or "",
                max_price=max_price, webhook=webhook or "", webhook_events_filter=events, stream=stream,
                idempotency_key=idempotency_key or "", hardware="gpu" if queue == "inference-gpu" else "cpu",
                currency=settings.CURRENCY, store=store,
            )
            # Admitted just before the row is written (its id exists already), so the price goes in with the
            # INSERT; a PaymentRequired rolls everything back and nothing is queued.
            admission = billing.prediction_admit(prediction=prediction, quote_id=quote_id, max_price=max_price,
                                                 fresh=True, review_run=review_run, defer_write=True)
            prediction.price = admission.price
            prediction.currency = admission.currency
            prediction_id = str(prediction.pk)
            limits = (app_version.soft_time_limit, app_version.time_limit)
            notify_start = bool(webhook) and "start" in events
            route = {"version_id": app_version.pk, "stream": bool(stream)}
            paid = bool(admission.price)
            rows = [*admission.unwritten, prediction]

            def write_and_enqueue() -> None:
                insert_rows(rows)
                transaction.on_commit(lambda: _enqueue_prediction(prediction_id, queue, limits, notify_start, route,
                                                                  paid))

            # A hold, a free-tier lock, a quote used: the rows belong to the transaction the admission began.
            admitted_in_transaction = transaction_begun()
            if admitted_in_transaction:
                write_and_enqueue()
        if not admitted_in_transaction:
            # The admission ran no statement (a free app): the Charge and the Prediction go in with one statement,
            # atomic on its own (no BEGIN/COMMIT round trips); the enqueue follows it (or the caller's commit).
            write_and_enqueue()
    except IntegrityError:
        if idempotency_key:
            return Prediction.objects.get(user=user, idempotency_key=idempotency_key), False
        raise
    record_prediction_created(app=app.slug, queue=queue)
    return prediction, True


def _enqueue_prediction(prediction_id: str, queue: str, limits: tuple[int, int], notify_start: bool,
                        route: dict[str, Any] | None = None, paid: bool = False) -> None:
    """`route` (version id, stream) lets the worker hand the id straight to the model's batch runner.

    With a Redis broker: one RPUSH onto the queue's list for its priority level (`inference.dispatch`); the
    worker enforces the version's time limit. Otherwise one Celery task, with the limits and the priority.
    """
    route = route or {}
    if dispatch_mode() == "redis":
        dispatch_push(queue=queue, message=Message(
            prediction_id=prediction_id, version_id=route.get("version_id"), stream=bool(route.get("stream")),
            high=priority_high(paid=paid), request_id=current_request_id()))
    else:
        from config.celery import message_priority

        from ..tasks import run_prediction

        soft, hard = limits
        # Paid calls run before free ones waiting on the same queue (settings.PREDICTION_PRIORITY).
        level = settings.PREDICTION_PRIORITY["paid" if paid else "free"]
        run_prediction.apply_async(args=(prediction_id,), kwargs=route, queue=queue, task_id=prediction_id,
                                   soft_time_limit=soft, time_limit=max(hard, soft + 1),
                                   priority=message_priority(level))
    if notify_start:
        webhook_event_queue(prediction_id=prediction_id, event="start")


def prediction_requeue(*, prediction: Prediction) -> None:
    """Send a live prediction's run task (or Redis dispatch message) again (it was lost); a duplicate is harmless."""
    queue = "inference-gpu" if prediction.hardware == "gpu" else "inference-cpu"
    version = prediction.version
    limits = (version.soft_time_limit, version.time_limit)
    route = {"version_id": version.pk, "stream": bool(prediction.stream)}
    _enqueue_prediction(str(prediction.pk), queue, limits, False, route, bool(prediction.price))


def prediction_wait(*, prediction: Prediction, seconds: float) -> Prediction:
    """Block up to `seconds` until the prediction is finished; answers it refreshed from the database.

    With a Redis broker the worker's batch pipeline wakes the waiter (BLPOP); otherwise the row is polled,
    quickly at first (most finish in milliseconds).
    """
    from ..notify import wait_done

    connection_give_back()  # with a pool, a waiting caller holds no database connection
    if wait_done(prediction.pk, seconds) is not None:
        _PREDICTION_ROW.refresh(prediction)  # refresh_from_db() without building a queryset (config.hot_rows)
        return prediction
    deadline = time.monotonic() + seconds
    delay = 0.002
    while time.monotonic() < deadline:
        status_now = Prediction.objects.filter(pk=prediction.pk).values_list("status", flat=True).first()
        if status_now in (PredictionStatus.SUCCEEDED, PredictionStatus.FAILED, PredictionStatus.CANCELED):
            break
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 1.5, 0.05)
    prediction.refresh_from_db()
    return prediction


@transaction.atomic
def prediction_cancel(*, prediction: Prediction, actor: User) -> Prediction:
    """Cancel if not finished; the worker sees the status and drops it; the hold is released."""
    prediction = Prediction.objects.select_for_update().get(pk=prediction.pk)
    if prediction.user_id != actor.pk:
        raise PermissionDenied(_("Only the caller can cancel this prediction."))
    if prediction.is_terminal:
        return prediction
    prediction.status = PredictionStatus.CANCELED
    prediction.completed_at = timezone.now()
    prediction.save(update_fields=["status", "completed_at"])
    fraction = streamed_fraction(prediction)
    if fraction > 0:  # a stream keeps the text it already produced: it pays that share
        billing.prediction_settle_partial(prediction=prediction, fraction=fraction)
    else:
        billing.prediction_release(prediction=prediction)
    prediction_id = str(prediction.pk)
    transaction.on_commit(lambda: _after_terminal(prediction_id, revoke=True))
    record_prediction_final(app_id=prediction.app_id, status=prediction.status, hardware=prediction.hardware)
    return prediction


_TOKENISH = re.compile(r"\w+|[^\w\s]")


def streamed_fraction(prediction: Prediction) -> Decimal:
    """The share of a stream's requested tokens already sent: words and punctuation marks of the text so
    far (the tokenizer lives on the worker) over `max_new_tokens`. 0 for anything that is not a stream."""
    text = (prediction.output or {}).get("text") if prediction.stream else None
    if not isinstance(text, str) or not text:
        return Decimal("0")
    requested = (prediction.input or {}).get("max_new_tokens") or 32
    produced = len(_TOKENISH.findall(text))
    return min(Decimal("1"), Decimal(produced) / Decimal(max(1, int(requested)))).quantize(Decimal("0.0001"))


def _after_terminal(prediction_id: str, *, revoke: bool = False) -> None:
    notify_done(prediction_id)
    if revoke and dispatch_mode() == "celery":  # a Redis-dispatched id is dropped by the worker's claim
        from config.celery import app as celery_app

        try:
            celery_app.control.revoke(prediction_id)
        except Exception:  # the broker being away must not turn a cancel into an error
            logger.warning("could not revoke %s", prediction_id, exc_info=True)
    webhook_event_queue(prediction_id=prediction_id, event="completed")
