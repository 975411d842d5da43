"""Analytics fixtures: calls made and settled through billing's real services at chosen times, and the ledger's
own per-app, per-day revenue and cost to compare the rollups with."""
import datetime as dt
from contextlib import contextmanager
from decimal import Decimal
from unittest import mock

import pytest
from django.db import transaction
from django.db.models import Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from billing import services as billing
from billing.models import AccountKind, Charge, Entry
from inference.models import Prediction, PredictionStatus
from tests.factories import AppFactory, AppVersionFactory, DeveloperFactory, PaidAppFactory, UserFactory
from tests.web.conftest import client_for  # noqa: F401 - the pages' logged-in test client, shared

D = Decimal


@contextmanager
def at(when: dt.datetime):
    """Everything inside happens at `when` (auto_now_add columns, ledger bookings, month starts)."""
    with mock.patch("django.utils.timezone.now", return_value=when):
        yield


def moment(day: dt.date, hour: int = 12, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def fund(user, amount: str = "50") -> None:
    billing.credit_grant(user=user, amount=D(amount), memo="analytics test credits", granted_by=None)


def call(user, app, *, when: dt.datetime, status: str = PredictionStatus.SUCCEEDED, latency_ms: int = 200,
         queue_ms: int | None = 20, seconds: str = "1.5", batch: bool = False) -> Prediction:
    """One call as inference makes it: Prediction + admission in one transaction at `when`, then the outcome
    (timestamps, compute seconds) and settlement or release `latency_ms` later, through billing's services."""
    version = app.versions.first() or AppVersionFactory(app=app, status="ready")
    with at(when), transaction.atomic():
        prediction = Prediction.objects.create(app=app, version=version, user=user, input={"text": "hi"})
        prediction.price = billing.prediction_admit(prediction=prediction).price
        prediction.save(update_fields=["price"])
    done = when + dt.timedelta(milliseconds=latency_ms)
    started = when + dt.timedelta(milliseconds=queue_ms) if queue_ms is not None else None
    with at(done), transaction.atomic():
        prediction.status, prediction.compute_seconds = status, D(seconds)
        prediction.started_at = started
        prediction.completed_at = done if status != PredictionStatus.QUEUED else None
        prediction.save(update_fields=["status", "compute_seconds", "started_at", "completed_at"])
        ok = status == PredictionStatus.SUCCEEDED
        if status == PredictionStatus.QUEUED:
            pass  # still waiting: its hold stays open
        elif batch:
            billing.predictions_finish_batch(succeeded=[prediction] if ok else [], failed=[] if ok else [prediction])
        elif ok:
            billing.prediction_settle(prediction=prediction)
        else:
            billing.prediction_release(prediction=prediction)
    return prediction


def refund(prediction: Prediction, *, when: dt.datetime, actor) -> None:
    with at(when):
        billing.charge_refund(charge=Charge.objects.get(subject=f"prediction:{prediction.pk}"), actor=actor)


def ledger_by_app_day() -> dict[tuple[int, dt.date], tuple[Decimal, Decimal]]:
    """(revenue, cost) per (app, day) summed straight from the ledger's entries, independently of billing's report:
    revenue is what went to developer earnings and platform fees, cost what went to inference cost."""
    found: dict[tuple[int, dt.date], list[Decimal]] = {}
    rows = (Entry.objects.filter(transaction__app__isnull=False)
            .annotate(day=TruncDate("transaction__created_at"))
            .values("transaction__app_id", "day", "account__kind").annotate(total=Sum("amount")).order_by())
    for row in rows:
        money = found.setdefault((row["transaction__app_id"], row["day"]), [D("0"), D("0")])
        if row["account__kind"] in (AccountKind.EARNINGS, AccountKind.PLATFORM_FEES):
            money[0] -= row["total"]
        elif row["account__kind"] == AccountKind.INFERENCE_COST:
            money[1] += row["total"]
    return {key: (value[0], value[1]) for key, value in found.items()}


@pytest.fixture
def owner(db):
    return DeveloperFactory()


@pytest.fixture
def paid_app(owner):
    app = PaidAppFactory(owner=owner, slug="paid-app", name="Paid App")
    AppVersionFactory(app=app, status="ready")
    return app


@pytest.fixture
def free_app(owner):
    app = AppFactory(owner=owner, slug="free-app", name="Free App")
    AppVersionFactory(app=app, status="ready")
    return app


@pytest.fixture
def buyers(db):
    people = [UserFactory(), UserFactory()]
    for person in people:
        fund(person)
    return people
