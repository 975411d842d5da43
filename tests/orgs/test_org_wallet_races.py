"""Concurrent calls on one org wallet never take it below zero (threads behind a barrier, real commits)."""
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal as D

import pytest
from django.db import connections

from accounts.models import Membership
from accounts.org_services import org_create
from accounts.services import api_key_create
from billing import selectors, services
from billing.models import Charge
from config.errors import PaymentRequired
from tests.billing.conftest import admit
from tests.factories import AppVersionFactory, PaidAppFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("real_races")]


def test_40_parallel_calls_by_4_members_with_org_funds_for_15():
    app = PaidAppFactory(base_price=D("1"), k=D("0"), max_price=D("1"))
    AppVersionFactory(app=app, status="ready")
    owner = UserFactory()
    org = org_create(user=owner, name="Racers")
    members = [owner] + [UserFactory() for _ in range(3)]
    for user in members[1:]:
        Membership.objects.create(org=org, user=user, role="member")
    keys = [api_key_create(user=user, name="k", scopes=["predict"], org=org).api_key for user in members]
    services.org_credit_grant(org=org, amount="15", memo="seed", granted_by=None)
    barrier = threading.Barrier(40)
    lowest = []

    def attempt(i):
        try:
            barrier.wait(timeout=30)
            try:
                admit(members[i % 4], app, api_key=keys[i % 4])
                outcome = "charged"
            except PaymentRequired as exc:
                assert exc.code == "insufficient_funds"
                outcome = "402"
            lowest.append(selectors.org_balance(org=org)[0])
            return outcome
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=40) as pool:
        outcomes = list(pool.map(attempt, range(40)))
    assert outcomes.count("charged") == 15 and outcomes.count("402") == 25
    assert min(lowest) >= 0
    assert selectors.org_balance(org=org) == (D("0"), D("15"))
    assert Charge.objects.filter(org=org).count() == 15
    for user in members:  # nobody's personal wallet paid
        assert selectors.user_balance(user=user) == 0
    report = selectors.ledger_check()
    assert report.ok, report.problems
