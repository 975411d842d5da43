"""Pricing has one home, billing/services/pricing.py: marketplace, quotes, admission and training all use it."""
from decimal import Decimal

import pytest

from billing import contract
from billing.services import pricing
from marketplace import pricing_port
from marketplace.selectors import app_current_price, app_prices
from tests.factories import AppFactory, PaidAppFactory

from .conftest import admit, fund

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("demand,expected", [(0, "0.002000"), (30, "0.005000"), (1000, "0.010000"), (1, "0.002100")])
def test_the_formula_is_base_plus_k_times_demand_capped(demand, expected):
    price = pricing.price_formula(base_price=D("0.002"), k=D("0.0001"), max_price=D("0.01"), demand=demand)
    assert price == D(expected)


def test_a_max_price_of_zero_means_no_cap():
    assert pricing.price_formula(base_price=D("1"), k=D("1"), max_price=D("0"), demand=5) == D("6.000000")


def test_marketplace_shows_the_price_billing_computes(paid_app, buyer):
    assert pricing_port.price_source() is pricing and pricing_port.purchase_gate().__name__.endswith("checkout")
    fund(buyer, "1")
    admit(buyer, paid_app)
    assert pricing.app_demand(app=paid_app) == 1
    assert app_current_price(app=paid_app) == pricing.app_price(app=paid_app) == D("0.011000")
    free = AppFactory()
    assert app_prices(apps=[paid_app, free]) == pricing.app_prices(apps=[paid_app, free]) == {
        paid_app.pk: D("0.011000"), free.pk: D("0")}


def test_a_quote_and_an_admission_use_the_same_price(paid_app, buyer):
    fund(buyer, "1")
    quote = pricing.quote_create(user=buyer, app=paid_app)
    assert quote.price == pricing.app_price(app=paid_app)
    prediction = admit(buyer, paid_app, quote_id=str(quote.pk))
    assert prediction.price == quote.price


def test_training_prices_a_job_with_billings_rate(settings):
    from training.selectors import training_price_per_second

    settings.BILLING_TRAINING_PRICE_PER_SECOND = {"cpu": D("0.5"), "gpu": D("2")}
    assert training_price_per_second(hardware="cpu") == D("0.5") == contract.training_rate("cpu")
    assert training_price_per_second(hardware="gpu") == D("2")
    assert training_price_per_second(hardware="tpu") == D("0.5")  # an unknown class falls back to cpu's rate
    assert contract.training_price(seconds=7, hardware="gpu") == D("14.000000")


def test_training_estimate_price_is_billings_training_price(settings):
    from tests.factories import AppVersionFactory
    from training.selectors import training_estimate

    settings.BILLING_TRAINING_PRICE_PER_SECOND = {"cpu": D("0.000300"), "gpu": D("1")}

    class Dataset:  # what the estimate reads of a dataset
        train_rows, rows, validation_rows, mean_words = 80, 100, 20, 12.0

    version = AppVersionFactory(app=PaidAppFactory(), framework="keras", hardware="cpu")
    estimate = training_estimate(base_version=version, dataset=Dataset(), hyperparameters={
        "epochs": 2, "batch_size": 8, "max_length": 64})
    assert estimate.price == pricing.training_price(seconds=estimate.seconds, hardware="cpu")
    assert estimate.price == (D(estimate.seconds) * D("0.000300")).quantize(D("0.000001"))


def test_demand_counts_what_the_orm_counts(paid_app, buyer):
    """app_demand is one hand-written COUNT (config.hot_rows): recent, not released, not the owner's, this app's."""
    import datetime as dt
    import uuid

    from django.utils import timezone

    from billing.models import Charge, ChargeStatus
    from tests.factories import UserFactory

    other_app = PaidAppFactory()
    now = timezone.now()
    rows = [(buyer, paid_app, ChargeStatus.HELD, 0), (buyer, paid_app, ChargeStatus.SETTLED, 10),
            (UserFactory(), paid_app, ChargeStatus.HELD, 20), (buyer, paid_app, ChargeStatus.RELEASED, 5),
            (paid_app.owner, paid_app, ChargeStatus.SETTLED, 5), (buyer, other_app, ChargeStatus.HELD, 5),
            (buyer, paid_app, ChargeStatus.SETTLED, paid_app.window_seconds + 60)]
    for user, app, status, age in rows:
        charge = Charge.objects.create(subject=f"prediction:{uuid.uuid4()}", user=user, app=app, price=D("0.01"),
                                       status=status)
        Charge.objects.filter(pk=charge.pk).update(created_at=now - dt.timedelta(seconds=age))
    since = now - dt.timedelta(seconds=paid_app.window_seconds)
    reference = (Charge.objects.filter(app=paid_app, created_at__gte=since).exclude(status=ChargeStatus.RELEASED)
                 .exclude(user_id=paid_app.owner_id).count())
    assert pricing.app_demand(app=paid_app, now=now) == reference == 3
