"""Claiming predictions on a worker: one conditional UPDATE, so a cancel or another worker never races a run."""
from __future__ import annotations

import os
import uuid
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import Prediction, PredictionStatus

LIVE_STATUSES = (PredictionStatus.QUEUED, PredictionStatus.STARTING, PredictionStatus.PROCESSING)


def prediction_claim(prediction_id: str, *, device: str, worker: str, warm_keys: list[tuple]) -> Prediction | None:
    """Mark the prediction as started by this worker; None when it is finished or canceled already.

    One conditional UPDATE (status not terminal) makes the claim safe against a concurrent cancel; a
    model already in this worker's cache goes straight to `processing`.
    """
    prediction = Prediction.objects.select_related("version").filter(pk=prediction_id).first()
    if prediction is None or prediction.is_terminal:
        return None
    version = prediction.version
    warm = (version.pk, version.sha256, device) in warm_keys
    status = PredictionStatus.PROCESSING if warm else PredictionStatus.STARTING
    attempts = prediction.attempts + 1
    now = timezone.now()
    logs = prediction.logs
    if attempts > 1:
        logs += _("Restarted after a worker was lost (attempt %(n)d).\n") % {"n": attempts}
    claimed = Prediction.objects.filter(pk=prediction_id, status__in=LIVE_STATUSES).update(
        status=status, started_at=prediction.started_at or now, attempts=attempts, device=device,
        worker=f"{worker} pid={os.getpid()}", logs=logs)
    if not claimed:
        return None
    prediction.status, prediction.started_at, prediction.attempts = status, prediction.started_at or now, attempts
    prediction.device, prediction.logs = device, logs
    return prediction


def claim_sql(ids: list[str], *, status: str, device: str, worker: str) -> tuple[str, list[Any]]:
    """The claim UPDATE: a new attempt (and a log line after a lost worker) unless this worker took it already."""
    restarted = _("Restarted after a worker was lost (attempt %(n)d).\n")
    before, _sep, after = restarted.partition("%(n)d")
    pk = Prediction._meta.pk
    assert pk is not None
    marks = ", ".join(["%s"] * len(ids))
    sql = (f"UPDATE {Prediction._meta.db_table} SET status = %s, started_at = COALESCE(started_at, %s), "  # noqa: S608
           "device = %s, attempts = CASE WHEN worker = %s THEN attempts ELSE attempts + 1 END, "
           "logs = CASE WHEN worker <> %s AND attempts >= 1 "
           "THEN logs || %s || CAST(attempts + 1 AS TEXT) || %s ELSE logs END, worker = %s "
           f"WHERE id IN ({marks}) AND status IN (%s, %s, %s)")
    params = [status, timezone.now(), device, worker, worker, before, after, worker,
              *[pk.get_db_prep_value(uuid.UUID(str(i)), connection) for i in ids], *LIVE_STATUSES]
    return sql, params


def claim_mark_starting(prediction_id: str, *, device: str, worker: str) -> None:
    """A cold model: the caller sees `starting` (its attempt counted) while the model loads."""
    sql, params = claim_sql([prediction_id], status=PredictionStatus.STARTING, device=device, worker=worker)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def claim_batch(ids: list[str], *, device: str, worker: str) -> list[Prediction]:
    """Claim the batch with ONE `UPDATE ... RETURNING`: finished or canceled ones are simply not returned."""
    sql, params = claim_sql(ids, status=PredictionStatus.PROCESSING, device=device, worker=worker)
    return list(Prediction.objects.raw(sql + " RETURNING *", params))
