"""No free compute: a free call pays for one run only, canceled streams pay for what they got, and the
owner's own calls do not move the price others pay."""
from decimal import Decimal

import pytest
from django.db import transaction

from billing import selectors, services
from billing.models import Charge
from billing.services import pricing
from config.errors import PaymentRequired
from inference.models import Prediction
from tests.factories import AppVersionFactory, PaidAppFactory, UserFactory

from .conftest import admit, fund, new_prediction

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def free_tier_app(db):
    app = PaidAppFactory(base_price=D("0.010000"), k=D("0"), max_price=D("0.050000"), free_calls_per_month=1)
    AppVersionFactory(app=app, status="ready")
    return app


def test_quotes_taken_while_a_free_call_is_left_pay_for_one_run_only(free_tier_app):
    user = UserFactory()
    fund(user, "1")
    quotes = [services.quote_create(user=user, app=free_tier_app) for _ in range(3)]
    assert all(quote.price == 0 for quote in quotes)
    first = admit(user, free_tier_app, quote_id=str(quotes[0].pk))
    assert first.price == 0 and Charge.objects.get(subject=f"prediction:{first.pk}").free_tier
    # The free call is spent: the other zero quotes are not honoured.
    with pytest.raises(PaymentRequired) as refused:
        admit(user, free_tier_app, quote_id=str(quotes[1].pk))
    assert refused.value.code == "quote_expired" and refused.value.extra["price"] == "0.010000"
    paid = admit(user, free_tier_app, quote_id=str(quotes[2].pk), max_price=D("0.02"))
    assert paid.price == D("0.010000")
    assert Charge.objects.filter(user=user, free_tier=True).count() == 1
    assert selectors.ledger_check().ok


def test_the_owners_calls_do_not_count_towards_demand(paid_app, buyer):
    owner = paid_app.owner
    fund(owner, "5")
    base = pricing.app_demand(app=paid_app)
    for _ in range(5):
        admit(owner, paid_app)
    assert pricing.app_demand(app=paid_app) == base
    assert pricing.apps_demand(apps=[paid_app])[paid_app.pk] == base
    fund(buyer, "1")
    admit(buyer, paid_app)
    assert pricing.app_demand(app=paid_app) == base + 1
    assert pricing.apps_demand(apps=[paid_app])[paid_app.pk] == base + 1


def _stream(user, app, *, text: str, max_new_tokens: int, stream: bool = True) -> Prediction:
    version = app.versions.first()
    with transaction.atomic():
        prediction = Prediction.objects.create(app=app, version=version, user=user, stream=stream, hardware="cpu",
                                               input={"text": "Guard:", "max_new_tokens": max_new_tokens})
        admission = services.prediction_admit(prediction=prediction)
        Prediction.objects.filter(pk=prediction.pk).update(price=admission.price, status="processing",
                                                           output={"text": text})
    prediction.refresh_from_db()
    return prediction


def test_a_canceled_stream_pays_for_the_share_it_produced(paid_app, buyer):
    from inference.services import prediction_cancel

    fund(buyer, "1")
    prediction = _stream(buyer, paid_app, text="Halt, who goes there", max_new_tokens=10)  # 5 of 10 tokens
    price = prediction.price
    assert price > 0
    prediction_cancel(prediction=prediction, actor=buyer)
    charge = Charge.objects.get(subject=f"prediction:{prediction.pk}")
    assert charge.status == "settled"
    assert selectors.user_balance(user=buyer) == D("1") - (price / 2).quantize(D("0.000001"))
    assert selectors.ledger_check().ok


def test_a_canceled_run_with_nothing_produced_pays_nothing(paid_app, buyer):
    from inference.services import prediction_cancel

    fund(buyer, "1")
    for stream, text in ((True, ""), (False, "")):
        prediction = _stream(buyer, paid_app, text=text, max_new_tokens=10, stream=stream)
        prediction_cancel(prediction=prediction, actor=buyer)
        assert Charge.objects.get(subject=f"prediction:{prediction.pk}").status == "released"
    assert selectors.user_balance(user=buyer) == D("1")
    assert selectors.ledger_check().ok


def test_owners_run_their_own_app_free_within_the_allowance_then_at_cost(paid_app, settings):
    from .conftest import finish

    owner = paid_app.owner
    paid_app.owner_allowance = D("0.000050")  # set by a moderator: a little compute per month
    paid_app.save(update_fields=["owner_allowance"])
    first = admit(owner, paid_app)
    assert first.price == 0  # within the allowance, and no hold needed
    finish(first, seconds="3")  # cpu: 3 s × 0.000020 = 0.000060 of cost C, past the allowance
    assert selectors.owner_allowance_left(app=paid_app) == 0
    with pytest.raises(PaymentRequired) as refused:  # past it, the owner pays C and needs the money
        admit(owner, paid_app)
    assert refused.value.code == "insufficient_funds"
    fund(owner, "1")
    second = admit(owner, paid_app)
    hold = second.price
    assert hold == (D("0.000020") * second.version.time_limit).quantize(D("0.000001"))
    finish(second, seconds="2")
    # Charged the real cost C of 2 s, to the platform (not to the owner's own earnings).
    assert selectors.user_balance(user=owner) == D("1") - D("0.000040")
    assert selectors.developer_earnings(user=owner) == 0
    assert selectors.ledger_check().ok


def test_an_unreviewed_draft_on_gpu_is_metered_too(settings):
    from marketplace.models import AppStatus

    from .conftest import finish

    draft = PaidAppFactory(status=AppStatus.DRAFT, pricing_model="free", owner_allowance=D("0"))
    AppVersionFactory(app=draft, status="ready", hardware="gpu")
    fund(draft.owner, "1")
    with transaction.atomic():
        prediction = new_prediction(draft.owner, draft, hardware="gpu")
        prediction.price = services.prediction_admit(prediction=prediction).price
        prediction.save(update_fields=["price"])
    assert prediction.price == D("0.000400") * prediction.version.time_limit  # the most it can cost
    finish(prediction, seconds="10")
    assert selectors.user_balance(user=draft.owner) == D("1") - D("0.004")  # 10 s × 0.000400
    assert selectors.ledger_check().ok
