"""Finishing predictions on a worker, exactly once: outputs stored, billing settled or released, waiters told.

A batch finishes in ONE transaction (bulk output write + one batch settlement); a single prediction with a
conditional UPDATE that wins or loses atomically against a cancel.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.db import DatabaseError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from billing import contract as billing
from config.hot_rows import bulk_update_rows
from config.metrics import record_prediction_timings
from config.observability import request_id_var
from marketplace.models import App
from marketplace.services import app_record_run

from .. import schemas
from ..metrics import record_prediction_final
from ..models import Prediction, PredictionStatus
from ..notify import notify_done, notify_done_many
from ..services.webhooks import webhook_event_queue
from .claim import LIVE_STATUSES

logger = logging.getLogger(__name__)


def json_safe(value: Any) -> Any:
    """Strip NUL characters, which PostgreSQL's JSON cannot hold (small generators do emit them)."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [json_safe(item) for item in value]
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    return value


def _metrics_with_queue(prediction: Prediction, metrics: dict[str, Any]) -> dict[str, Any]:
    queue_ms = (prediction.started_at - prediction.created_at).total_seconds() * 1000 if prediction.started_at else 0
    return {"queue_ms": round(queue_ms, 1), **metrics}


def prediction_succeed(prediction: Prediction, *, output: Any, metrics: dict[str, Any], compute_seconds: Decimal,
                       wall_seconds: float) -> Prediction:
    """Finish exactly once: a conditional UPDATE (not yet terminal) wins or loses atomically, then billing settles."""
    prediction_id = str(prediction.pk)
    now = timezone.now()
    metrics = _metrics_with_queue(prediction, metrics)
    with transaction.atomic():
        won = Prediction.objects.filter(pk=prediction_id, status__in=LIVE_STATUSES).update(
            status=PredictionStatus.SUCCEEDED, output=output, metrics=metrics, compute_seconds=compute_seconds,
            completed_at=now)
        if not won:  # canceled meanwhile, or finished by an earlier attempt
            prediction.refresh_from_db()
            return prediction
        prediction.status, prediction.output, prediction.metrics = PredictionStatus.SUCCEEDED, output, metrics
        prediction.compute_seconds, prediction.completed_at = compute_seconds, now
        billing.prediction_settle(prediction=prediction)
        app_record_run(app_id=prediction.app_id)
        transaction.on_commit(lambda: notify_done(prediction_id))
        if prediction.webhook:
            transaction.on_commit(lambda: webhook_event_queue(prediction_id=prediction_id, event="completed"))
    record_prediction_final(app_id=prediction.app_id, status=PredictionStatus.SUCCEEDED, hardware=prediction.hardware)
    record_prediction_timings(hardware=prediction.hardware, queue_ms=metrics.get("queue_ms"),
                              load_ms=metrics.get("load_ms"))
    return prediction


def prediction_fail(prediction_id: str, error: str) -> Prediction:
    with transaction.atomic():
        prediction = Prediction.objects.select_for_update().get(pk=prediction_id)
        if prediction.is_terminal:
            return prediction
        prediction.status = PredictionStatus.FAILED
        prediction.error = error
        prediction.metrics = _metrics_with_queue(prediction, {"load_ms": None, "predict_ms": None,
                                                              "batch_size": None})
        prediction.completed_at = timezone.now()
        prediction.save(update_fields=["status", "error", "metrics", "completed_at"])
        billing.prediction_release(prediction=prediction)
        transaction.on_commit(lambda: notify_done(prediction_id))
        if prediction.webhook:
            transaction.on_commit(lambda: webhook_event_queue(prediction_id=prediction_id, event="completed"))
    record_prediction_final(app_id=prediction.app_id, status=PredictionStatus.FAILED, hardware=prediction.hardware)
    return prediction


def prediction_fail_if_running(*, prediction_id: str, error: str) -> None:
    """Called when a task is given up for good (time limit, retries spent)."""
    prediction_fail(prediction_id, error)


def finish_batch(claimed: list[Prediction], *, results: dict[str, list[dict[str, Any]]], errors: dict[str, str],
                 batch_size: int, predict_ms: float, load_ms: dict[str, float],
                 request_ids: dict[str, str] | None = None) -> None:
    """ONE transaction: the still-live rows locked, outputs and metrics in one bulk UPDATE, one batch settlement."""
    if not claimed:
        return
    now = timezone.now()
    succeeded: list[Prediction] = []
    failed: list[Prediction] = []
    for prediction in claimed:
        pid = str(prediction.pk)
        own_load = load_ms.get(pid, 0.0)
        if pid in results:
            count = len(results[pid])
            prediction.output = json_safe(schemas.output_assemble(data=prediction.input, outputs=results[pid]))
            prediction.metrics = _metrics_with_queue(prediction, {
                "load_ms": round(own_load, 1), "predict_ms": round(predict_ms, 1), "batch_size": batch_size})
            prediction.compute_seconds = Decimal(str(round(predict_ms / 1000 * count / max(batch_size, 1)
                                                           + own_load / 1000, 6)))
            prediction.status = PredictionStatus.SUCCEEDED
            succeeded.append(prediction)
        else:
            prediction.error = errors.get(pid) or _("The model gave no output.")
            prediction.metrics = _metrics_with_queue(prediction, {"load_ms": None, "predict_ms": None,
                                                                  "batch_size": None})
            prediction.status = PredictionStatus.FAILED
            failed.append(prediction)
        prediction.completed_at = now
    try:
        with transaction.atomic():
            # Only rows still live are written (a cancel or a duplicate delivery may have ended some), checked
            # under the UPDATE's row locks: the lock and the write are one statement.
            live = bulk_update_rows(succeeded + failed,
                                    ["status", "output", "error", "metrics", "compute_seconds", "completed_at"],
                                    only_if_in=("status", LIVE_STATUSES))
            succeeded = [p for p in succeeded if p.pk in live]
            failed = [p for p in failed if p.pk in live]
            done = succeeded + failed
            if not done:
                return
            billing.predictions_finish_batch(succeeded=succeeded, failed=failed)
            runs: dict[int, int] = {}
            for prediction in succeeded:
                runs[prediction.app_id] = runs.get(prediction.app_id, 0) + 1
            for app_id, count in sorted(runs.items()):
                App.objects.filter(pk=app_id).update(runs_count=F("runs_count") + count)
            done_ids = [str(p.pk) for p in done]
            hooked = [str(p.pk) for p in done if p.webhook]
            transaction.on_commit(lambda: notify_done_many(done_ids))
            transaction.on_commit(lambda: _record_batch_finals(done))
            for pid in hooked:  # each webhook task carries its own web request's id (the runner thread has none)
                transaction.on_commit(lambda pid=pid: _with_request_id(
                    (request_ids or {}).get(pid, ""), webhook_event_queue, prediction_id=pid, event="completed"))
    except DatabaseError:  # e.g. an output the database cannot store: finish them one by one
        logger.warning("batch completion failed; finishing one by one", exc_info=True)
        for prediction in claimed:
            try:
                if prediction.status == PredictionStatus.SUCCEEDED:
                    prediction_succeed(prediction, output=prediction.output, metrics=prediction.metrics,
                                       compute_seconds=prediction.compute_seconds, wall_seconds=0)
                else:
                    prediction_fail(str(prediction.pk), prediction.error)
            except DatabaseError as exc:
                prediction_fail(str(prediction.pk), _("The output could not be stored: %(error)s") % {
                    "error": str(exc).splitlines()[0][:300]})


def _with_request_id(request_id: str, function: Callable[..., Any], **kwargs: Any) -> None:
    """Call `function` with the request id of the web request that started this prediction in effect."""
    token = request_id_var.set(request_id) if request_id else None
    try:
        function(**kwargs)
    finally:
        if token is not None:
            request_id_var.reset(token)


def _record_batch_finals(done: list[Prediction]) -> None:
    """Metrics for a committed batch: each prediction's final status, and queue/load times of the succeeded."""
    for prediction in done:
        record_prediction_final(app_id=prediction.app_id, status=prediction.status, hardware=prediction.hardware)
        if prediction.status == PredictionStatus.SUCCEEDED:
            record_prediction_timings(hardware=prediction.hardware, queue_ms=prediction.metrics.get("queue_ms"),
                                      load_ms=prediction.metrics.get("load_ms"))
