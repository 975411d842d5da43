"""Reads of analytics: an app's or the platform's usage per day over a date range, from the rollups only.

Days without a rollup row read as zero. Totals add the days up, count distinct callers over the whole range from
the per-caller rollup, and merge the days' histograms for the range's percentiles (see `stats`).
"""
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from marketplace.models import App
from marketplace.selectors import apps_managed_by

from . import stats
from .models import ZERO, DailyCaller, DailyUsage

DEFAULT_DAYS = 30
MAX_DAYS = 365


@dataclass
class UsageDay:
    """One day's figures (or, with `date` None, a range's totals)."""

    date: dt.date | None
    calls: int = 0
    errors: int = 0
    unique_callers: int = 0
    p50_ms: int | None = None
    p95_ms: int | None = None
    queue_p50_ms: int | None = None
    queue_p95_ms: int | None = None
    revenue: Decimal = ZERO
    cost: Decimal = ZERO

    @property
    def margin(self) -> Decimal:
        """Revenue minus cost C."""
        return self.revenue - self.cost

    @property
    def error_rate(self) -> Decimal | None:
        """Errors per call, as a percentage with one decimal; None without calls."""
        if not self.calls:
            return None
        return (Decimal(100 * self.errors) / Decimal(self.calls)).quantize(Decimal("0.1"))


@dataclass
class UsageReport:
    start: dt.date
    end: dt.date
    days: list[UsageDay]
    totals: UsageDay
    computed_at: dt.datetime | None

    @property
    def dates(self) -> list[dt.date]:
        return [day.date for day in self.days if day.date is not None]


def days_range(*, days: int = DEFAULT_DAYS, today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The last `days` days, today included."""
    end = today or timezone.localdate()
    return end - dt.timedelta(days=days - 1), end


def app_owned_get(*, user: User, slug: str) -> App:
    """The app if `user` manages it (its owner, or for an org's app a member who may publish); anyone else's (or a
    missing one) raises App.DoesNotExist, answered as 404."""
    return apps_managed_by(user=user).get(slug=slug)


def _day_from_row(row: DailyUsage) -> UsageDay:
    return UsageDay(date=row.day, calls=row.calls, errors=row.errors, unique_callers=row.unique_callers,
                    p50_ms=row.p50_ms, p95_ms=row.p95_ms, queue_p50_ms=row.queue_p50_ms,
                    queue_p95_ms=row.queue_p95_ms, revenue=row.revenue, cost=row.cost)


def _report(*, rows: QuerySet[DailyUsage], callers: QuerySet[DailyCaller], start: dt.date,
            end: dt.date) -> UsageReport:
    found = list(rows.filter(day__gte=start, day__lte=end).order_by("day"))
    by_day = {row.day: row for row in found}
    days = []
    for offset in range((end - start).days + 1):
        date = start + dt.timedelta(days=offset)
        days.append(_day_from_row(by_day[date]) if date in by_day else UsageDay(date=date))
    latency = stats.histogram_merge(row.latency_histogram for row in found)
    queue = stats.histogram_merge(row.queue_histogram for row in found)
    totals = UsageDay(
        date=None, calls=sum(d.calls for d in days), errors=sum(d.errors for d in days),
        unique_callers=callers.filter(day__gte=start, day__lte=end).values("user_id").distinct().count(),
        p50_ms=stats.histogram_percentile(latency, 50), p95_ms=stats.histogram_percentile(latency, 95),
        queue_p50_ms=stats.histogram_percentile(queue, 50), queue_p95_ms=stats.histogram_percentile(queue, 95),
        revenue=sum((d.revenue for d in days), ZERO), cost=sum((d.cost for d in days), ZERO))
    if len(found) == 1:  # one day: its exact percentiles, not the histogram's estimate
        totals.p50_ms, totals.p95_ms = found[0].p50_ms, found[0].p95_ms
        totals.queue_p50_ms, totals.queue_p95_ms = found[0].queue_p50_ms, found[0].queue_p95_ms
    computed_at = max((row.computed_at for row in found), default=None)
    return UsageReport(start=start, end=end, days=days, totals=totals, computed_at=computed_at)


def app_usage(*, app: App, start: dt.date, end: dt.date) -> UsageReport:
    """One app's usage per day from `start` to `end` (inclusive)."""
    return _report(rows=DailyUsage.objects.filter(app=app), callers=DailyCaller.objects.filter(app=app),
                   start=start, end=end)


def platform_usage(*, start: dt.date, end: dt.date) -> UsageReport:
    """Every app together, per day (the moderators' dashboard)."""
    return _report(rows=DailyUsage.objects.filter(app__isnull=True), callers=DailyCaller.objects.all(),
                   start=start, end=end)


def last_rollup_at() -> dt.datetime | None:
    """When the rollup last wrote anything (to say how fresh the dashboards are)."""
    return DailyUsage.objects.order_by("-computed_at").values_list("computed_at", flat=True).first()
