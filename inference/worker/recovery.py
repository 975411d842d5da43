"""Re-dispatch predictions whose broker message was lost.

With the Redis broker a worker SIGKILLed between popping a message and recording it as unacknowledged loses
that message for good (kombu#305): `acks_late` cannot help, because the broker no longer has it. The database
is the source of truth, so every inference worker periodically re-sends the run task of predictions that have
sat in `queued` for longer than PREDICTION_REQUEUE_AFTER_SECONDS. The Redis dispatch has the same window (between
a BLPOP and the move into the worker's processing list), and `prediction_requeue` re-sends through whichever
path is in use (`inference.dispatch`). A duplicate is harmless: running is idempotent and a finished or claimed
prediction is not run twice. A cache key keeps the workers from all
re-sending the same prediction in the same window.

A prediction can also be left live with nobody running it: claimed (`starting`, `processing`) by a worker that
then acknowledged its message without being able to record the outcome (the database away when it tried), or
whose holder is gone in a way the dispatch's leases did not see. Such a row is re-sent once it has run past its
version's soft time limit plus PREDICTION_REQUEUE_AFTER_SECONDS: a live holder would have failed it at the
limit, so by then nobody will. The worker that takes it claims it anew (a new attempt, logged) and runs it.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from ..models import Prediction, PredictionStatus
from ..services.predictions import prediction_requeue

logger = logging.getLogger(__name__)


def requeue_after_seconds() -> int:
    return settings.PREDICTION_REQUEUE_AFTER_SECONDS


def predictions_requeue_lost(*, now: datetime | None = None, limit: int = 200) -> int:
    """Re-send the run task of predictions queued for too long, and of claimed ones past their time limit with
    nobody to finish them; returns how many were re-sent."""
    now = now or timezone.now()
    after = requeue_after_seconds()
    stale = (Prediction.objects.filter(status=PredictionStatus.QUEUED, created_at__lt=now - timedelta(seconds=after))
             .select_related("version").order_by("created_at")[:limit])
    sent = _resend(list(stale), window=lambda _prediction: after)
    if sent:
        logger.warning("re-sent %d prediction(s) queued for more than %d s (lost broker messages)", sent, after)
    # Few rows are claimed at any time (the workers' capacity), so each version's limit is applied here.
    claimed = (Prediction.objects.filter(status__in=[PredictionStatus.STARTING, PredictionStatus.PROCESSING],
                                         started_at__lt=now - timedelta(seconds=after))
               .select_related("version").order_by("started_at")[:limit])
    orphaned = [prediction for prediction in claimed
                if prediction.started_at < now - timedelta(seconds=after + prediction.version.soft_time_limit)]
    resent = _resend(orphaned, window=lambda prediction: after + prediction.version.soft_time_limit)
    if resent:
        logger.warning("re-sent %d prediction(s) still running past their time limit (no worker finishes them)",
                       resent)
    return sent + resent


def _resend(predictions: list[Prediction], *, window: Callable[[Prediction], int]) -> int:
    sent = 0
    for prediction in predictions:
        if not cache.add(f"prediction-requeue:{prediction.pk}", 1, timeout=window(prediction)):
            continue  # another worker re-sent it in this window
        prediction_requeue(prediction=prediction)
        sent += 1
    return sent
