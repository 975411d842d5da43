"""Races on a real database: admissions, settlements and webhooks from many threads at once."""
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connections

from billing import selectors, services
from billing.models import Charge, Transaction
from config.errors import PaymentRequired
from tests.factories import AppVersionFactory, PaidAppFactory, UserFactory

from .conftest import admit, fund, new_prediction

D = Decimal
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("real_races")]


def _in_thread(fn):
    def run(*args):
        try:
            return fn(*args)
        finally:
            connections.close_all()
    return run


def test_50_parallel_paid_admissions_with_funds_for_20():
    app = PaidAppFactory(base_price=D("1"), k=D("0"), max_price=D("1"))
    AppVersionFactory(app=app)
    user = UserFactory()
    fund(user, "20")
    barrier = threading.Barrier(50)
    lowest = []

    @_in_thread
    def attempt(_i):
        barrier.wait(timeout=30)
        try:
            admit(user, app)
            outcome = "charged"
        except PaymentRequired as exc:
            assert exc.status == 402 and exc.extra["price"] == "1.000000"
            outcome = "402"
        lowest.append(selectors.user_balance(user=user))
        return outcome

    with ThreadPoolExecutor(max_workers=50) as pool:
        outcomes = list(pool.map(attempt, range(50)))
    assert outcomes.count("charged") == 20
    assert outcomes.count("402") == 30
    assert min(lowest) >= 0
    assert selectors.user_balance(user=user) == 0
    assert selectors.user_held(user=user) == D("20")
    assert Charge.objects.count() == 20
    assert selectors.ledger_check().ok


def test_concurrent_settle_and_release_settle_exactly_once():
    app = PaidAppFactory(base_price=D("1"), k=D("0"), max_price=D("1"))
    AppVersionFactory(app=app)
    user = UserFactory()
    fund(user, "5")
    prediction = admit(user, app)
    prediction.compute_seconds = D("3")
    prediction.save(update_fields=["compute_seconds"])

    @_in_thread
    def settle(i):
        if i % 4 == 3:
            services.prediction_release(prediction=prediction)
        else:
            services.prediction_settle(prediction=prediction)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(settle, range(16)))
    kinds = list(Transaction.objects.filter(prediction_id=str(prediction.pk)).values_list("kind", flat=True))
    assert sorted(kinds) in (["cost", "settle"], ["cost"])  # holds are the wallet's `held` column
    assert selectors.user_held(user=user) == 0
    assert selectors.ledger_check().ok


def test_parallel_admissions_of_one_prediction_hold_once():
    app = PaidAppFactory(base_price=D("1"), k=D("0"), max_price=D("1"))
    AppVersionFactory(app=app)
    user = UserFactory()
    fund(user, "5")
    prediction = new_prediction(user, app)

    @_in_thread
    def again(_i):
        try:
            return services.prediction_admit(prediction=prediction).price
        except Exception as exc:  # noqa: BLE001 - a unique-violation loser is acceptable, a second hold is not
            return type(exc).__name__

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(again, range(8)))
    assert Charge.objects.count() == 1
    assert selectors.user_balance(user=user) == D("4")
