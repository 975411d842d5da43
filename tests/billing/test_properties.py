"""Property: whatever happens — top-ups, runs, failures, refunds, payouts — the books balance."""
import contextlib
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing import selectors, services
from billing.models import Charge, ChargeStatus, TopUp, TopUpStatus, Wallet
from config.errors import InvalidInput, PaymentRequired
from tests.factories import AppVersionFactory, PaidAppFactory, UserFactory

from .conftest import admit, finish

amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("50"), places=2)
operation = st.one_of(
    st.tuples(st.just("topup"), st.integers(0, 2), amounts),
    st.tuples(st.just("grant"), st.integers(0, 2), amounts),
    st.tuples(st.just("run"), st.integers(0, 2), st.integers(0, 1), st.booleans(),
              st.decimals(min_value=Decimal("0"), max_value=Decimal("30"), places=3)),
    st.tuples(st.just("hold"), st.integers(0, 2), st.integers(0, 1)),
    st.tuples(st.just("refund_call"), st.integers(0, 50)),
    st.tuples(st.just("refund_topup"), st.integers(0, 50)),
    st.tuples(st.just("payout"), st.integers(0, 1), st.booleans()),
    st.tuples(st.just("budget"), st.integers(0, 2), st.one_of(st.none(), amounts)),
)


def _apply(op, users, apps, moderator):
    kind = op[0]
    if kind == "topup":
        topup = TopUp.objects.create(user=users[op[1]], amount=op[2], currency="usd")
        services.topup_complete(topup_id=topup.pk, amount_minor=int(op[2] * 100), currency="usd")
    elif kind == "grant":
        services.credit_grant(user=users[op[1]], amount=op[2], memo="promo", granted_by=moderator)
    elif kind in ("run", "hold"):
        try:
            prediction = admit(users[op[1]], apps[op[2]])
        except PaymentRequired:
            return
        if kind == "run":
            finish(prediction, ok=op[3], seconds=str(op[4]))
    elif kind == "refund_call":
        charges = list(Charge.objects.filter(status=ChargeStatus.SETTLED, price__gt=0).order_by("pk"))
        if charges:
            with contextlib.suppress(InvalidInput):  # refusing to overdraw is allowed, booking it is not
                services.charge_refund(charge=charges[op[1] % len(charges)], actor=moderator)
    elif kind == "refund_topup":
        topups = list(TopUp.objects.filter(status=TopUpStatus.PAID).order_by("pk"))
        if topups:
            with contextlib.suppress(InvalidInput):
                services.topup_refund(topup=topups[op[1] % len(topups)], actor=moderator)
    elif kind == "payout":
        payout = services.payout_create(developer=apps[op[1]].owner)
        if payout and op[2]:
            services.payout_fail(payout_id=payout.pk, error="bank said no")
    elif kind == "budget":
        services.wallet_set_budget(user=users[op[1]], monthly_budget=op[2])


@pytest.mark.django_db
@settings(max_examples=30, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(st.lists(operation, min_size=1, max_size=20))
def test_any_sequence_keeps_the_ledger_balanced(settings_fixture_free, ops):
    with transaction.atomic():
        users = [UserFactory() for _ in range(3)]
        apps = [PaidAppFactory(base_price=Decimal("0.5"), k=Decimal("0.25"), max_price=Decimal("2"),
                               free_calls_per_month=1),
                PaidAppFactory(base_price=Decimal("3.333333"), k=Decimal("0"), max_price=Decimal("4"))]
        for app in apps:
            AppVersionFactory(app=app)
            Wallet.objects.create(user=app.owner, stripe_account_id="acct_test", payouts_enabled=True)
        moderator = UserFactory()
        for op in ops:
            _apply(op, users, apps, moderator)
            report = selectors.ledger_check()
            assert report.ok, (op, report.problems)
        for user in users:
            assert selectors.user_balance(user=user) >= 0
            assert selectors.user_held(user=user) >= 0
        for app in apps:
            assert selectors.developer_earnings(user=app.owner) >= 0
        transaction.set_rollback(True)


@pytest.fixture
def settings_fixture_free(settings):
    settings.BILLING_PAYOUT_THRESHOLD = Decimal("0.01")
    settings.STRIPE_SECRET_KEY = ""
