"""Re-dispatch predictions whose broker message was lost.

With the Redis broker a worker SIGKILLed between popping a message and recording it as unacknowledged loses
that message for good (kombu#305): `acks_late` cannot help, because the broker no longer has it. The database
is the source of truth, so every inference worker periodically re-sends the run task of predictions that have
sat in `queued` for longer than PREDICTION_REQUEUE_AFTER_SECONDS. The Redis dispatch has the same window (between
a BLPOP and the move into the worker's processing list), and `prediction_requeue` re-sends through whichever
path is in use (`inference.dispatch`). A duplicate is harmless: running is idempotent and a finished or claimed
prediction is not run twice. A cache key keeps the workers from all
re-sending the same prediction in the same window. The loop is started by `lifecycle` on inference workers.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from ..models import Prediction
from ..services.predictions import prediction_requeue

logger = logging.getLogger(__name__)


def requeue_after_seconds() -> int:
    return settings.PREDICTION_REQUEUE_AFTER_SECONDS


def predictions_requeue_lost(*, now: datetime | None = None, limit: int = 200) -> int:
    """Re-send the run task of predictions queued for too long; returns how many were re-sent."""
    now = now or timezone.now()
    after = requeue_after_seconds()
    stale = (Prediction.objects.filter(status="queued", created_at__lt=now - timedelta(seconds=after))
             .select_related("version").order_by("created_at")[:limit])
    sent = 0
    for prediction in stale:
        if not cache.add(f"prediction-requeue:{prediction.pk}", 1, timeout=after):
            continue  # another worker re-sent it in this window
        prediction_requeue(prediction=prediction)
        sent += 1
    if sent:
        logger.warning("re-sent %d prediction(s) queued for more than %d s (lost broker messages)", sent, after)
    return sent
