"""Writes of analytics: the daily usage rollup (run by the periodic task, idempotent, whole days at a time).

Per app and day it counts the day's predictions (by creation time), their failures and distinct callers, takes
exact p50/p95 of end-to-end latency and of queue time, and copies revenue R and cost C from the ledger through
billing's economics report, so a rollup row equals the books for that app and day. Recomputing a range deletes
and rewrites its rows in one transaction; running it twice gives the same rows.
"""
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.selectors import economics
from config.errors import InvalidInput
from inference.models import Prediction, PredictionStatus

from . import stats
from .models import ZERO, DailyCaller, DailyUsage

MAX_RANGE_DAYS = 366
# Serialises concurrent rollups (two overlapping ranges would otherwise both rewrite the same days).
_LOCK_KEY = 0x616E616C  # "anal"


@dataclass
class _Day:
    """What one rollup row is computed from."""

    calls: int = 0
    errors: int = 0
    callers: dict[int, int] = field(default_factory=dict)
    latencies: list[int] = field(default_factory=list)
    queues: list[int] = field(default_factory=list)
    revenue: Decimal = ZERO
    cost: Decimal = ZERO

    def add_call(self, *, user_id: int, failed: bool, latency_ms: int | None, queue_ms: int | None) -> None:
        self.calls += 1
        self.errors += int(failed)
        self.callers[user_id] = self.callers.get(user_id, 0) + 1
        if latency_ms is not None:
            self.latencies.append(latency_ms)
        if queue_ms is not None:
            self.queues.append(queue_ms)


@dataclass(frozen=True)
class RollupResult:
    start: dt.date
    end: dt.date
    rows: int
    callers: int


def _ms(later: dt.datetime | None, earlier: dt.datetime | None) -> int | None:
    if later is None or earlier is None:
        return None
    return max(0, round((later - earlier).total_seconds() * 1000))


def _day_bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start 00:00, end+1 00:00) in the current time zone: the same days the ledger's TruncDate groups by."""
    first = timezone.make_aware(dt.datetime.combine(start, dt.time.min))
    after = timezone.make_aware(dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min))
    return first, after


def _collect_calls(start: dt.date, end: dt.date) -> dict[tuple[int | None, dt.date], _Day]:
    """One pass over the range's predictions, into per (app, day) and per (None, day) buckets."""
    days: dict[tuple[int | None, dt.date], _Day] = defaultdict(_Day)
    first, after = _day_bounds(start, end)
    rows = (Prediction.objects.filter(created_at__gte=first, created_at__lt=after).order_by()
            .values_list("app_id", "user_id", "status", "created_at", "started_at", "completed_at"))
    for app_id, user_id, status, created_at, started_at, completed_at in rows.iterator(chunk_size=5000):
        day = timezone.localdate(created_at)
        latency = _ms(completed_at, created_at) if status == PredictionStatus.SUCCEEDED else None
        queue = _ms(started_at, created_at)
        failed = status == PredictionStatus.FAILED
        for key in ((app_id, day), (None, day)):
            days[key].add_call(user_id=user_id, failed=failed, latency_ms=latency, queue_ms=queue)
    return days


def _collect_money(days: dict[tuple[int | None, dt.date], _Day], start: dt.date, end: dt.date) -> None:
    """R and C per app and day exactly as the ledger books them (billing's economics report)."""
    for row in economics(start=start, end=end):
        if row.day is None or row.app_id is None:
            continue
        for key in ((row.app_id, row.day), (None, row.day)):
            days[key].revenue += row.revenue
            days[key].cost += row.cost


def _usage_row(app_id: int | None, day: dt.date, data: _Day, now: dt.datetime) -> DailyUsage:
    latencies, queues = sorted(data.latencies), sorted(data.queues)
    return DailyUsage(
        app_id=app_id, day=day, calls=data.calls, errors=data.errors, unique_callers=len(data.callers),
        p50_ms=stats.nearest_rank(latencies, 50), p95_ms=stats.nearest_rank(latencies, 95),
        queue_p50_ms=stats.nearest_rank(queues, 50), queue_p95_ms=stats.nearest_rank(queues, 95),
        latency_histogram=stats.histogram(latencies), queue_histogram=stats.histogram(queues),
        revenue=data.revenue, cost=data.cost, computed_at=now)


def _caller_rows(days: dict[tuple[int | None, dt.date], _Day]) -> Iterable[DailyCaller]:
    for (app_id, day), data in days.items():
        if app_id is None:
            continue
        for user_id, calls in data.callers.items():
            yield DailyCaller(app_id=app_id, day=day, user_id=user_id, calls=calls)


def _lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])


def usage_rollup(*, start: dt.date, end: dt.date) -> RollupResult:
    """Recompute the rollups of every app for the days `start`..`end` (inclusive) from scratch."""
    if end < start:
        raise InvalidInput(_("The first day must not be after the last."), fields={"start": [
            _("The first day must not be after the last.")]})
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise InvalidInput(_("Recompute at most %(n)d days at a time.") % {"n": MAX_RANGE_DAYS})
    with transaction.atomic():
        _lock()
        days = _collect_calls(start, end)
        _collect_money(days, start, end)
        now = timezone.now()
        DailyUsage.objects.filter(day__gte=start, day__lte=end).delete()
        DailyCaller.objects.filter(day__gte=start, day__lte=end).delete()
        usage = DailyUsage.objects.bulk_create(
            [_usage_row(app_id, day, data, now) for (app_id, day), data in sorted(
                days.items(), key=lambda item: (item[0][1], item[0][0] or 0))], batch_size=1000)
        callers = DailyCaller.objects.bulk_create(list(_caller_rows(days)), batch_size=5000)
    return RollupResult(start=start, end=end, rows=len(usage), callers=len(callers))


def usage_rollup_recent(*, days: int, today: dt.date | None = None) -> RollupResult:
    """The beat task's job: today and the `days - 1` days before it (late settlements land in recent days)."""
    end = today or timezone.localdate()
    return usage_rollup(start=end - dt.timedelta(days=max(1, days) - 1), end=end)
