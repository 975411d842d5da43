"""The daily rollups: revenue and cost per app and day equal the ledger exactly; calls, errors, callers and
percentiles are right on known data; recomputing is idempotent; the beat task runs it."""
import datetime as dt
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from analytics import selectors, services, stats
from analytics.models import DailyCaller, DailyUsage
from billing.selectors import ledger_check
from inference.models import Prediction, PredictionStatus
from tests.factories import AppFactory, AppVersionFactory, ModeratorFactory, UserFactory
from tests.helpers import celery_eager

from .conftest import at, call, fund, ledger_by_app_day, moment, refund

pytestmark = pytest.mark.django_db
D = Decimal
DAY1, DAY2, DAY3 = dt.date(2026, 3, 30), dt.date(2026, 3, 31), dt.date(2026, 4, 1)


def _usage(app, day) -> DailyUsage | None:
    return DailyUsage.objects.filter(app=app, day=day).first()


def test_rollups_equal_the_ledger_per_app_and_day(owner, paid_app, free_app, buyers):
    """Paid and free apps, failures (cost booked, nothing charged), the owner's own calls (charged cost C to the
    platform past the allowance), the worker's batch settlement, a refund two days later and a call settled just
    after midnight: every (app, day) rollup holds exactly the ledger's revenue and cost."""
    first, second = buyers
    moderator = ModeratorFactory()
    paid = call(first, paid_app, when=moment(DAY1, 9))
    call(second, paid_app, when=moment(DAY1, 10))
    call(first, paid_app, when=moment(DAY1, 11), status=PredictionStatus.FAILED, seconds="2.25")
    call(first, free_app, when=moment(DAY1, 12), seconds="0.75")
    call(second, paid_app, when=moment(DAY2, 9), batch=True)
    call(first, paid_app, when=moment(DAY2, 9, 5), status=PredictionStatus.FAILED, batch=True)
    call(owner, paid_app, when=moment(DAY2, 10), seconds="3")
    call(second, free_app, when=moment(DAY2, 23, 59), latency_ms=90_000)  # settled on DAY3, 00:00:30
    paid_app.owner_allowance = D("0")
    paid_app.save(update_fields=["owner_allowance"])
    fund(owner, "5")
    call(owner, paid_app, when=moment(DAY3, 8), seconds="2")  # past the allowance: pays cost C to the platform
    call(second, paid_app, when=moment(DAY3, 9), status=PredictionStatus.CANCELED)
    refund(paid, when=moment(DAY3, 10), actor=moderator)

    result = services.usage_rollup(start=DAY1, end=DAY3)

    ledger = ledger_by_app_day()
    assert set(ledger) == {(paid_app.pk, DAY1), (paid_app.pk, DAY2), (paid_app.pk, DAY3), (free_app.pk, DAY1),
                           (free_app.pk, DAY3)}
    assert all(cost > 0 for _revenue, cost in ledger.values())
    for (app_id, day), (revenue, cost) in ledger.items():
        row = DailyUsage.objects.get(app_id=app_id, day=day)
        assert (row.revenue, row.cost) == (revenue, cost), (app_id, day)
        assert row.margin == revenue - cost
    for row in DailyUsage.objects.filter(app__isnull=False):
        assert (row.revenue, row.cost) == ledger.get((row.app_id, row.day), (D("0"), D("0")))
    for day in (DAY1, DAY2, DAY3):
        platform = DailyUsage.objects.get(app__isnull=True, day=day)
        assert platform.revenue == sum((r for (a, d), (r, c) in ledger.items() if d == day), D("0"))
        assert platform.cost == sum((c for (a, d), (r, c) in ledger.items() if d == day), D("0"))
    # The free app's call made at 23:59 is a DAY2 call, but its cost C was booked (and counts) on DAY3.
    assert _usage(free_app, DAY2).calls == 1 and _usage(free_app, DAY2).cost == D("0")
    assert _usage(free_app, DAY3).calls == 0 and _usage(free_app, DAY3).cost > 0
    assert _usage(paid_app, DAY1).calls == 3 and _usage(paid_app, DAY1).errors == 1
    assert _usage(paid_app, DAY1).unique_callers == 2
    assert _usage(paid_app, DAY3).revenue == ledger[(paid_app.pk, DAY3)][0]
    assert result.rows == DailyUsage.objects.count()
    assert ledger_check().ok


def test_the_refund_lowers_revenue_on_the_day_it_was_booked(owner, paid_app, buyers):
    paid = call(buyers[0], paid_app, when=moment(DAY1, 9))
    services.usage_rollup(start=DAY1, end=DAY2)
    charged = _usage(paid_app, DAY1).revenue
    assert charged == paid.price > 0
    refund(paid, when=moment(DAY2, 9), actor=ModeratorFactory())
    services.usage_rollup(start=DAY1, end=DAY2)
    assert _usage(paid_app, DAY1).revenue == charged
    assert _usage(paid_app, DAY2).revenue == -charged
    assert _usage(paid_app, DAY2).calls == 0


def _prediction(app, user, *, created: dt.datetime, status: str, latency_ms: int | None = None,
                queue_ms: int | None = None) -> Prediction:
    version = app.versions.first() or AppVersionFactory(app=app, status="ready")
    with at(created):
        prediction = Prediction.objects.create(app=app, version=version, user=user, input={})
    Prediction.objects.filter(pk=prediction.pk).update(
        status=status, started_at=created + dt.timedelta(milliseconds=queue_ms) if queue_ms is not None else None,
        completed_at=created + dt.timedelta(milliseconds=latency_ms) if latency_ms is not None else None)
    return prediction


def test_calls_errors_callers_and_percentiles_on_known_data():
    app = AppFactory()
    other_app = AppFactory()
    alice, bob, carol = UserFactory(), UserFactory(), UserFactory()
    start = moment(DAY1, 8)
    for i in range(10):  # succeeded: latency 100, 200, ... 1000 ms; queue 10, 20, ... 100 ms
        _prediction(app, [alice, bob][i % 2], created=start + dt.timedelta(minutes=i), status="succeeded",
                    latency_ms=100 * (i + 1), queue_ms=10 * (i + 1))
    _prediction(app, carol, created=start, status="failed", latency_ms=50, queue_ms=5)
    _prediction(app, carol, created=start, status="failed", latency_ms=60)  # failed before it started
    _prediction(app, alice, created=start, status="canceled", latency_ms=70)
    _prediction(app, alice, created=start, status="queued")
    _prediction(other_app, carol, created=start, status="succeeded", latency_ms=5000, queue_ms=4000)
    _prediction(app, alice, created=moment(DAY2, 8), status="succeeded", latency_ms=40, queue_ms=3)

    services.usage_rollup(start=DAY1, end=DAY2)

    row = _usage(app, DAY1)
    assert (row.calls, row.errors, row.unique_callers) == (14, 2, 3)
    assert (row.p50_ms, row.p95_ms) == (500, 1000)       # nearest rank over the 10 succeeded calls
    # Queue time of every call that started: 10..100 and the failed call's 5 -> 11 samples.
    assert (row.queue_p50_ms, row.queue_p95_ms) == (50, 100)
    assert sum(row.latency_histogram.values()) == 10 and sum(row.queue_histogram.values()) == 11
    platform = DailyUsage.objects.get(app__isnull=True, day=DAY1)
    assert (platform.calls, platform.errors, platform.unique_callers) == (15, 2, 3)
    assert (platform.p50_ms, platform.p95_ms) == (600, 5000)  # 11 samples: 6th is 600, 11th is 5000
    assert DailyCaller.objects.filter(app=app, day=DAY1).count() == 3
    assert DailyCaller.objects.get(app=app, day=DAY1, user=alice).calls == 7

    report = selectors.app_usage(app=app, start=DAY1, end=DAY2)
    assert [d.calls for d in report.days] == [14, 1]
    assert report.totals.calls == 15 and report.totals.errors == 2
    assert report.totals.unique_callers == 3               # alice counted once over both days
    # Over two days the percentiles come from the merged histograms (11 samples: 40, 100..1000).
    assert report.totals.p50_ms == stats.bucket_value(stats.bucket_of(500))
    assert abs(report.totals.p95_ms - 1000) <= 20


def test_totals_over_days_are_exact_for_small_latencies():
    app, user = AppFactory(), UserFactory()
    for day, latencies in ((DAY1, [10, 20, 30]), (DAY2, [40, 50])):
        for ms in latencies:
            _prediction(app, user, created=moment(day, 8), status="succeeded", latency_ms=ms, queue_ms=1)
    services.usage_rollup(start=DAY1, end=DAY2)
    totals = selectors.app_usage(app=app, start=DAY1, end=DAY3).totals
    assert (totals.p50_ms, totals.p95_ms, totals.calls, totals.unique_callers) == (30, 50, 5, 1)


def test_recomputing_is_idempotent_and_picks_up_new_activity(owner, paid_app, free_app, buyers):
    call(buyers[0], paid_app, when=moment(DAY1, 9))
    call(buyers[1], free_app, when=moment(DAY2, 9), status=PredictionStatus.FAILED)

    def snapshot():
        return sorted(DailyUsage.objects.values_list(
            "app_id", "day", "calls", "errors", "unique_callers", "p50_ms", "p95_ms", "queue_p50_ms",
            "latency_histogram", "revenue", "cost"), key=str), sorted(
            DailyCaller.objects.values_list("app_id", "day", "user_id", "calls"))

    services.usage_rollup(start=DAY1, end=DAY2)
    first = snapshot()
    services.usage_rollup(start=DAY1, end=DAY2)
    services.usage_rollup(start=DAY2, end=DAY2)  # an overlapping range rewrites the same rows
    assert snapshot() == first
    assert DailyUsage.objects.filter(day=DAY1, app=paid_app).count() == 1

    call(buyers[1], paid_app, when=moment(DAY2, 10))
    services.usage_rollup(start=DAY2, end=DAY2)
    assert _usage(paid_app, DAY2).calls == 1
    assert _usage(paid_app, DAY1) is not None and snapshot()[0] != first[0]
    ledger = ledger_by_app_day()
    assert (_usage(paid_app, DAY2).revenue, _usage(paid_app, DAY2).cost) == ledger[(paid_app.pk, DAY2)]


def test_a_range_ending_before_it_starts_is_refused():
    from config.errors import InvalidInput

    with pytest.raises(InvalidInput):
        services.usage_rollup(start=DAY2, end=DAY1)


def test_the_beat_schedule_runs_the_recent_rollup_task(owner, paid_app, buyers):
    entry = django_settings.CELERY_BEAT_SCHEDULE["analytics-usage-rollup"]
    assert entry["task"] == "analytics.tasks.usage_rollup_recent"
    from analytics import tasks

    assert tasks.usage_rollup_recent.name == entry["task"]
    assert tasks.usage_rollup_recent.acks_late and tasks.usage_rollup.acks_late
    today = timezone.localdate()
    call(buyers[0], paid_app, when=timezone.now())
    with celery_eager():
        tasks.usage_rollup_recent.delay()
    assert _usage(paid_app, today).calls == 1
    assert DailyUsage.objects.filter(app__isnull=True, day=today).exists()
    DailyUsage.objects.all().delete()
    with celery_eager():
        tasks.usage_rollup.delay(today.isoformat(), today.isoformat())  # dates in, as ISO strings
    assert _usage(paid_app, today).revenue == ledger_by_app_day()[(paid_app.pk, today)][0]


def test_the_management_command_backfills_a_range(owner, paid_app, buyers):
    from django.core.management import call_command

    call(buyers[0], paid_app, when=moment(DAY1, 9))
    call_command("usage_rollup", "--from", DAY1.isoformat(), "--to", DAY2.isoformat())
    assert _usage(paid_app, DAY1).calls == 1


def test_overlapping_rollups_running_at_once_do_not_collide(real_races, owner, paid_app, free_app, buyers):
    """Beat and a backfill may recompute the same days at the same time: they take turns, and the rows are the
    same as after one run."""
    import threading

    from django.db import connection

    call(buyers[0], paid_app, when=moment(DAY1, 9))
    call(buyers[1], free_app, when=moment(DAY2, 9))
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def run(start, end) -> None:
        try:
            barrier.wait()
            services.usage_rollup(start=start, end=end)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=args) for args in
               [(DAY1, DAY2), (DAY2, DAY2), (DAY1, DAY3), (DAY1, DAY2)]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert DailyUsage.objects.filter(day=DAY1, app=paid_app).count() == 1
    assert DailyUsage.objects.filter(app__isnull=True).count() == 2
    assert _usage(free_app, DAY2).calls == 1 and _usage(paid_app, DAY1).revenue > 0
