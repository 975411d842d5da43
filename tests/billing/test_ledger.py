"""The ledger and the contract with inference: holds, settlement, release, fees, cost, free calls, caps."""
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import Notification
from accounts.services import api_key_create
from billing import selectors, services
from billing.models import Charge, ChargeStatus, Entry, Transaction
from config.errors import InvalidInput, PaymentRequired
from tests.factories import AppVersionFactory, PaidAppFactory

from .conftest import admit, finish, fund, new_prediction

pytestmark = pytest.mark.django_db
D = Decimal


def test_grant_credits_wallet_with_balanced_entries(buyer, moderator):
    grant = services.credit_grant(user=buyer, amount="12.50", memo="Support ticket 17", granted_by=moderator)
    assert selectors.user_balance(user=buyer) == D("12.500000")
    assert grant.transaction.created_by == moderator and grant.transaction.memo == "Support ticket 17"
    assert sum(e.amount for e in grant.transaction.entries.all()) == 0
    assert selectors.ledger_check().ok


def test_admit_holds_then_settle_splits_fee_and_books_cost(buyer, paid_app, settings):
    fund(buyer, "1.00")
    prediction = admit(buyer, paid_app)
    assert prediction.price == D("0.010000")
    assert selectors.user_balance(user=buyer) == D("0.990000")
    assert selectors.user_held(user=buyer) == D("0.010000")

    finish(prediction, seconds="2.5")
    assert selectors.user_held(user=buyer) == 0
    assert selectors.user_balance(user=buyer) == D("0.990000")
    assert selectors.developer_earnings(user=paid_app.owner) == D("0.008000")  # price × (1 − 20%)
    from billing.ledger import platform_balance

    assert platform_balance("platform_fees") == D("0.002000")
    assert platform_balance("inference_cost") == D("2.5") * settings.BILLING_COST_PER_SECOND["cpu"]
    assert Charge.objects.get().status == ChargeStatus.SETTLED
    assert selectors.ledger_check().ok


def test_failed_prediction_releases_hold_but_books_cost(buyer, paid_app):
    fund(buyer, "1.00")
    prediction = admit(buyer, paid_app)
    finish(prediction, seconds="1", ok=False)
    assert selectors.user_balance(user=buyer) == D("1.000000")
    assert selectors.user_held(user=buyer) == 0
    assert selectors.developer_earnings(user=paid_app.owner) == 0
    assert Transaction.objects.filter(kind="cost").count() == 1
    assert selectors.ledger_check().ok


def test_settle_twice_and_release_after_settle_book_once(buyer, paid_app):
    fund(buyer, "1.00")
    prediction = admit(buyer, paid_app)
    for _ in range(3):
        services.prediction_settle(prediction=prediction)
    services.prediction_release(prediction=prediction)
    assert Transaction.objects.filter(kind="settle").count() == 1
    assert Transaction.objects.filter(kind="release").count() == 0
    assert selectors.user_balance(user=buyer) == D("0.990000")
    assert selectors.ledger_check().ok


def test_admit_is_idempotent_per_prediction(buyer, paid_app):
    fund(buyer, "1.00")
    prediction = new_prediction(buyer, paid_app)
    first = services.prediction_admit(prediction=prediction)
    second = services.prediction_admit(prediction=prediction)
    assert first == second and Charge.objects.count() == 1
    assert selectors.user_held(user=buyer) == D("0.010000")


def test_insufficient_funds_is_402_with_price_and_rolls_back(buyer, paid_app):
    fund(buyer, "0.005")
    with pytest.raises(PaymentRequired) as error:
        admit(buyer, paid_app)
    assert error.value.code == "insufficient_funds"
    assert error.value.extra["price"] == "0.010000"
    assert not Charge.objects.exists()
    from inference.models import Prediction

    assert not Prediction.objects.exists()  # the 402 rolled the prediction back: nothing to queue


def test_price_rises_with_demand_and_falls_back(buyer, paid_app):
    fund(buyer, "1.00")
    prices = [admit(buyer, paid_app).price for _ in range(3)]
    assert prices == [D("0.010000"), D("0.011000"), D("0.012000")]
    Charge.objects.update(created_at=Charge.objects.first().created_at.replace(year=2020))
    assert admit(buyer, paid_app).price == D("0.010000")


def test_price_capped_at_max_price(buyer):
    app = PaidAppFactory(base_price=D("1"), k=D("1"), max_price=D("2.5"))
    fund(buyer, "100")
    assert [admit(buyer, app).price for _ in range(4)] == [D("1"), D("2"), D("2.5"), D("2.5")]


def test_quote_is_honoured_even_if_price_rose(buyer, paid_app, user):
    fund(buyer, "1.00")
    fund(user, "1.00")
    quote = services.quote_create(user=buyer, app=paid_app)
    admit(user, paid_app)
    admit(user, paid_app)
    prediction = admit(buyer, paid_app, quote_id=str(quote.pk))
    assert prediction.price == quote.price == D("0.010000")
    # A quote is used once: reusing it without max_price is refused with the current price.
    with pytest.raises(PaymentRequired) as error:
        admit(buyer, paid_app, quote_id=str(quote.pk))
    assert error.value.code == "quote_expired" and error.value.extra["price"] == "0.013000"


def test_max_price_accepts_or_refuses_current_price(buyer, paid_app):
    fund(buyer, "1.00")
    admit(buyer, paid_app)
    assert admit(buyer, paid_app, max_price="0.011").price == D("0.011000")
    with pytest.raises(PaymentRequired) as error:
        admit(buyer, paid_app, max_price="0.0115")
    assert error.value.code == "price_changed" and error.value.extra["price"] == "0.012000"


def test_unknown_quote_is_a_field_error(buyer, paid_app):

    fund(buyer, "1")
    with pytest.raises(InvalidInput) as error:
        admit(buyer, paid_app, quote_id="not-a-quote")
    assert "quote_id" in error.value.fields


def test_free_calls_come_first_then_charge(buyer):
    app = PaidAppFactory(free_calls_per_month=2)
    AppVersionFactory(app=app)
    fund(buyer, "1")
    assert services.quote_create(user=buyer, app=app).price == 0
    prices = [admit(buyer, app).price for _ in range(3)]
    assert prices[0] == prices[1] == 0
    assert prices[2] == D("0.012000")  # two earlier calls in the window
    assert selectors.user_balance(user=buyer) == D("0.988000")


def test_developers_run_their_own_app_free(paid_app):
    developer = paid_app.owner
    assert services.quote_create(user=developer, app=paid_app).price == 0
    prediction = finish(admit(developer, paid_app))
    assert prediction.price == 0 and selectors.developer_earnings(user=developer) == 0
    assert selectors.ledger_check().ok


def test_free_calls_work_without_money(buyer):
    app = PaidAppFactory(free_calls_per_month=1)
    prediction = admit(buyer, app)
    finish(prediction)
    assert prediction.price == 0 and selectors.user_balance(user=buyer) == 0
    with pytest.raises(PaymentRequired):
        admit(buyer, app)


def test_monthly_budget_hard_stop_and_alerts(buyer):
    app = PaidAppFactory(base_price=D("1"), k=D("0"), max_price=D("1"))
    fund(buyer, "10")
    services.wallet_set_budget(user=buyer, monthly_budget=D("3"))
    admit(buyer, app)
    assert not Notification.objects.filter(user=buyer, kind="billing.budget").exists()
    admit(buyer, app)  # 2/3 = 66%: the 50% alert
    assert Notification.objects.filter(user=buyer, dedupe_key__endswith=":50").count() == 1
    admit(buyer, app)  # 3/3: 80% and 100%
    assert set(Notification.objects.filter(user=buyer, kind="billing.budget").values_list("dedupe_key", flat=True)
               ) == {f"budget:{selectors.month_start():%Y-%m}:{p}" for p in (50, 80, 100)}
    with pytest.raises(PaymentRequired) as error:
        admit(buyer, app)
    assert error.value.code == "budget_exceeded"
    assert selectors.user_balance(user=buyer) == D("7")


def test_alert_emails_are_sent(buyer, django_capture_on_commit_callbacks, mailoutbox):
    app = PaidAppFactory(base_price=D("1"), k=D("0"), max_price=D("1"))
    fund(buyer, "10")
    services.wallet_set_budget(user=buyer, monthly_budget=D("2"))
    with django_capture_on_commit_callbacks(execute=True):
        admit(buyer, app)
    assert any("50%" in mail.subject for mail in mailoutbox)
    assert mailoutbox[-1].to == [buyer.email]


def test_api_key_spend_cap(buyer):
    app = PaidAppFactory(base_price=D("1"), k=D("0"), max_price=D("1"))
    fund(buyer, "10")
    key = api_key_create(user=buyer, name="ci", scopes=["predict"]).api_key
    key.spend_cap = D("2")
    key.save()
    admit(buyer, app, api_key=key)
    admit(buyer, app, api_key=key)
    with pytest.raises(PaymentRequired) as error:
        admit(buyer, app, api_key=key)
    assert error.value.code == "spend_cap_reached"
    admit(buyer, app)  # other keys and the site are not capped by this key
    assert Notification.objects.filter(user=buyer, dedupe_key=f"key{key.pk}:{selectors.month_start():%Y-%m}:100"
                                       ).exists()


def test_charge_refund_reverses_every_entry(buyer, paid_app, moderator):
    fund(buyer, "1")
    prediction = finish(admit(buyer, paid_app))
    charge = Charge.objects.get()
    reversal = services.charge_refund(charge=charge, actor=moderator)
    assert selectors.user_balance(user=buyer) == D("1")
    assert selectors.developer_earnings(user=paid_app.owner) == 0
    assert reversal.reverses.prediction_id == str(prediction.pk)
    with pytest.raises(InvalidInput):
        services.charge_refund(charge=charge, actor=moderator)
    assert selectors.ledger_check().ok


def test_training_jobs_hold_and_settle_per_second(buyer, settings):
    class Job:  # training's jobs carry a pk, an owner and a hardware class (billing.contract.BillableJob)
        def __init__(self, pk, user):
            self.pk, self.owner, self.hardware = pk, user, "cpu"

    fund(buyer, "1")
    rate = settings.BILLING_TRAINING_PRICE_PER_SECOND["cpu"]
    job = Job(1, buyer)
    admission = services.training_admit(job=job, estimated_seconds=D("100"))
    assert admission.price == 100 * rate
    services.training_settle(job=job, compute_seconds=D("40"))
    services.training_settle(job=job, compute_seconds=D("40"))
    assert selectors.user_balance(user=buyer) == D("1") - 40 * rate
    other = Job(2, buyer)
    services.training_admit(job=other, estimated_seconds=D("10"))
    services.training_release(job=other)
    assert selectors.user_balance(user=buyer) == D("1") - 40 * rate
    assert selectors.ledger_check().ok


def test_check_ledger_command(buyer, paid_app):
    fund(buyer, "1")
    finish(admit(buyer, paid_app))
    out = StringIO()
    call_command("check_ledger", stdout=out)
    assert "balanced" in out.getvalue()
    # An entry edited behind the ledger's back is caught.
    Entry.objects.filter(amount__gt=0).order_by("id").update(amount=D("5"))
    with pytest.raises(SystemExit):
        call_command("check_ledger", stdout=StringIO(), stderr=StringIO())


def test_economics_report_per_app_and_day(buyer, paid_app, settings):
    fund(buyer, "1")
    finish(admit(buyer, paid_app), seconds="10")
    finish(admit(buyer, paid_app), seconds="10")
    rows = selectors.economics()
    assert len(rows) == 1
    row = rows[0]
    cost = 20 * settings.BILLING_COST_PER_SECOND["cpu"]
    assert (row.calls, row.revenue, row.cost) == (2, D("0.021"), cost)
    assert row.developer_share == D("0.016800") and row.platform_fee == D("0.004200")
    assert row.profit == D("0.021") - cost


def test_money_rounds_to_minor_units(db):
    from billing.ledger import floor_to_minor, to_minor_units

    assert to_minor_units(D("10.005")) == 1001
    assert to_minor_units(D("10.004999")) == 1000
    assert to_minor_units(D("500"), "jpy") == 500
    assert floor_to_minor(D("12.349999")) == D("12.34")
