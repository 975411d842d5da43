"""Celery tasks of analytics: thin, idempotent, given dates (ISO strings), not objects."""
import datetime as dt

from celery import shared_task
from django.conf import settings
from django.db import OperationalError


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True,
             autoretry_for=(OperationalError,), max_retries=3, retry_backoff=30)
def usage_rollup(self, start: str, end: str) -> int:
    """Recompute the usage rollups of `start`..`end` (YYYY-MM-DD, inclusive); safe to run again."""
    from .services import usage_rollup as rollup

    return rollup(start=dt.date.fromisoformat(start), end=dt.date.fromisoformat(end)).rows


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True,
             autoretry_for=(OperationalError,), max_retries=3, retry_backoff=30)
def usage_rollup_recent(self) -> int:
    """Scheduled by django-celery-beat: the last ANALYTICS_ROLLUP_DAYS days, today included."""
    from .services import usage_rollup_recent as rollup

    return rollup(days=settings.ANALYTICS_ROLLUP_DAYS).rows
