"""The seed's worked case, exactly: C_A = 10, k = 2, C_B = 5.

Two apps A and B cost 10 and 5 per call to run (inference cost C, booked per prediction from
compute seconds × the hardware rate) and are priced at P = C + k·n, n being the app's calls in its
trailing window. Over the sequence A, A, B, A, B, B the prices are 10, 12, 5, 14, 7, 9, and the
platform's profit is P = R − C = Σ k·n exactly.
"""
from decimal import Decimal

import pytest

from billing import selectors
from tests.factories import AppVersionFactory, PaidAppFactory, UserFactory

from .conftest import admit, finish, fund

D = Decimal


@pytest.mark.django_db
def test_seed_worked_case(settings):
    settings.BILLING_COST_PER_SECOND = {"cpu": D("1"), "gpu": D("1")}
    app_a = PaidAppFactory(name="A", base_price=D("10"), k=D("2"), max_price=D("1000"), window_seconds=3600)
    app_b = PaidAppFactory(name="B", base_price=D("5"), k=D("2"), max_price=D("1000"), window_seconds=3600)
    cost = {app_a.pk: "10", app_b.pk: "5"}  # C_A = 10, C_B = 5: compute seconds at 1.00 per second
    for app in (app_a, app_b):
        AppVersionFactory(app=app)
    user = UserFactory()
    fund(user, "100")

    prices = []
    for app in (app_a, app_a, app_b, app_a, app_b, app_b):
        prediction = finish(admit(user, app), seconds=cost[app.pk])
        prices.append(prediction.price)

    assert prices == [D("10"), D("12"), D("5"), D("14"), D("7"), D("9")]
    totals = selectors.economics_totals(selectors.economics())
    assert totals.revenue == D("57")                  # R = 10+12+14 + 5+7+9
    assert totals.cost == D("45")                     # C = 3×10 + 3×5
    assert totals.profit == D("12")                   # P = R − C = k·(0+1+2) + k·(0+1+2)
    assert totals.developer_share == D("45.600000")   # R × (1 − 20%)
    assert totals.platform_fee == D("11.400000")
    by_app = {row.app_name: row for row in selectors.economics()}
    assert (by_app["A"].revenue, by_app["A"].cost, by_app["A"].profit) == (D("36"), D("30"), D("6"))
    assert (by_app["B"].revenue, by_app["B"].cost, by_app["B"].profit) == (D("21"), D("15"), D("6"))
    assert selectors.user_balance(user=user) == D("43")
    assert selectors.ledger_check().ok
