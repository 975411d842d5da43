"""Lean admission: the web side of one prediction create is a handful of SQL statements, whatever the history.

Counted with a real API key (auth + key touch + throttle + admission + insert), in a transactional test so
that no outer test transaction adds savepoints to the count. Nothing is queued: the broker call happens
after commit and is not SQL.
"""
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing import selectors
from billing.models import Charge
from inference.models import Prediction
from tests.billing.conftest import fund
from tests.conftest import key_client
from tests.factories import AppFactory, AppVersionFactory, LibraryEntryFactory, PaidAppFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch):
    """The broker hop is not SQL and not under test here: record the enqueue instead of sending it."""
    sent = []
    from inference.services import predictions as services

    monkeypatch.setattr(services, "_enqueue_prediction", lambda *args: sent.append(args))
    return sent


def _ready(app):
    AppVersionFactory(app=app, status="ready", task="text-classification",
                      input_schema={"type": "object"}, validated_at="2026-01-01T00:00:00Z")
    return app


def _post(client, app, **extra):
    return client.post(f"/api/v1/apps/{app.slug}/predictions/", {"input": {"text": "profits rose"}, **extra},
                       format="json")


TRANSACTION_CONTROL = ("BEGIN", "COMMIT")


def _sent(sqls: list[str]) -> list[str]:
    """What reached PostgreSQL: Django logs BEGIN and COMMIT for every `atomic()`, but psycopg sends BEGIN only
    before a first statement and COMMIT only for an open transaction, so an adjacent pair is no round trip
    (`config.hot_rows.transaction_begun`, tested in tests/test_hot_rows.py)."""
    sent: list[str] = []
    for sql in sqls:
        if sql == "COMMIT" and sent and sent[-1] == "BEGIN":
            sent.pop()
        else:
            sent.append(sql)
    return sent


def _count(client, app, *, transaction_control=TRANSACTION_CONTROL, **extra) -> tuple[int, list[str]]:
    """Statements of one create, not counting the BEGIN/COMMIT pair of its single write transaction (if any)."""
    with CaptureQueriesContext(connection) as context:
        response = _post(client, app, **extra)
    assert response.status_code in (201, 202), response.content
    sqls = _sent([q["sql"] for q in context.captured_queries])
    assert [sql for sql in sqls if sql in TRANSACTION_CONTROL] == list(transaction_control), "\n".join(sqls)
    assert not any(sql.startswith(("SAVEPOINT", "RELEASE")) for sql in sqls), "\n".join(sqls)
    statements = [sql for sql in sqls if sql not in TRANSACTION_CONTROL]
    return len(statements), statements


def _warm(client, app):
    """The first call of a key records its use (once a minute) and creates the wallet; count the next one."""
    assert _post(client, app).status_code in (201, 202)


def test_free_app_call_takes_three_statements_and_no_transaction():
    """Key, version, then ONE INSERT of the Charge and the Prediction together: atomic on its own, so no
    BEGIN/COMMIT round trips (the issue's budget is 4 in one transaction)."""
    app = _ready(AppFactory())
    runner = UserFactory()
    LibraryEntryFactory(user=runner, app=app)
    client = key_client(runner, scopes=("predict",))
    _warm(client, app)
    n, sqls = _count(client, app, transaction_control=())
    assert n <= 3, "\n".join(sqls)
    inserts = [sql for sql in sqls if "INSERT" in sql]
    assert len(inserts) == 1 and "billing_charge" in inserts[0] and "inference_prediction" in inserts[0]
    assert Charge.objects.filter(user=runner, price=0).count() == 2
    assert Prediction.objects.filter(user=runner, status="queued").count() == 2


def test_a_free_call_refused_at_the_insert_writes_neither_row():
    """The one statement writes both rows or neither: a reused Idempotency-Key answers the first prediction."""
    app = _ready(AppFactory())
    runner = UserFactory()
    LibraryEntryFactory(user=runner, app=app)
    client = key_client(runner, scopes=("predict",))
    first = client.post(f"/api/v1/apps/{app.slug}/predictions/", {"input": {"text": "profits rose"}},
                        format="json", HTTP_IDEMPOTENCY_KEY="same")
    again = client.post(f"/api/v1/apps/{app.slug}/predictions/", {"input": {"text": "profits rose"}},
                        format="json", HTTP_IDEMPOTENCY_KEY="same")
    assert first.status_code in (201, 202) and again.status_code in (201, 202)
    assert again.json()["id"] == first.json()["id"] and again["Idempotent-Replayed"] == "true"
    assert Prediction.objects.filter(user=runner).count() == 1 and Charge.objects.filter(user=runner).count() == 1


def test_paid_call_takes_at_most_six_statements_with_one_conditional_hold(django_assert_max_num_queries):
    app = _ready(PaidAppFactory(base_price=D("0.01"), k=D("0"), max_price=D("0.05")))
    runner = UserFactory()
    LibraryEntryFactory(user=runner, app=app)
    fund(runner, "5.00")
    client = key_client(runner, scopes=("predict",))
    _warm(client, app)
    with django_assert_max_num_queries(6 + len(TRANSACTION_CONTROL)):
        assert _post(client, app).status_code in (201, 202)
    n, sqls = _count(client, app)
    assert n <= 6, "\n".join(sqls)
    holds = [sql for sql in sqls if sql.startswith("UPDATE") and "billing_wallet" in sql]
    assert len(holds) == 1 and "held" in holds[0]
    assert not any("FOR UPDATE" in sql for sql in sqls), "\n".join(sqls)
    assert selectors.user_held(user=runner) == D("0.03")
    assert selectors.user_balance(user=runner) == D("4.97")
    assert selectors.ledger_check().ok, selectors.ledger_check().problems


def test_paid_call_with_a_quote_takes_at_most_six_statements(django_assert_max_num_queries):
    app = _ready(PaidAppFactory(base_price=D("0.01"), k=D("0"), max_price=D("0.05")))
    runner = UserFactory()
    LibraryEntryFactory(user=runner, app=app)
    fund(runner, "5.00")
    client = key_client(runner, scopes=("predict",))
    _warm(client, app)
    from billing.services import quote_create

    quote = quote_create(user=runner, app=app)
    n, sqls = _count(client, app, quote_id=str(quote.pk))
    assert n <= 6, "\n".join(sqls)
    assert Charge.objects.filter(user=runner).count() == 2
    again = _post(client, app, quote_id=str(quote.pk))  # used: without max_price it is refused, as before
    assert again.status_code == 402 and again.json()["error"]["code"] == "quote_expired"


def test_free_tier_call_is_serialised_and_stays_small():
    """A paid app's free calls are taken under the wallet row lock (one UPDATE), then recounted."""
    app = _ready(PaidAppFactory(base_price=D("0.01"), k=D("0"), max_price=D("0.05"), free_calls_per_month=2))
    runner = UserFactory()
    LibraryEntryFactory(user=runner, app=app)
    fund(runner, "5.00")
    client = key_client(runner, scopes=("predict",))
    _warm(client, app)  # free call 1
    n, sqls = _count(client, app)  # free call 2
    assert n <= 7, "\n".join(sqls)
    n, sqls = _count(client, app)  # paid now
    assert n <= 7, "\n".join(sqls)
    assert list(Charge.objects.filter(user=runner).order_by("created_at").values_list("free_tier", flat=True)) == [
        True, True, False]
    assert selectors.user_held(user=runner) == D("0.01")


def _seed_history(user, app, count: int) -> None:
    """`count` settled past calls of `user` with their ledger rows, in bulk (set-based SQL, seconds for 100k)."""
    from billing.ledger import account_get
    from billing.models import AccountKind

    wallet = account_get(AccountKind.WALLET, user)
    fees = account_get(AccountKind.PLATFORM_FEES)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO billing_transaction (kind, memo, idempotency_key, user_id, app_id, prediction_id, created_at)"
            " SELECT 'settle', 'history', 'history:' || %s || ':' || g, %s, %s, '', now() - interval '40 days'"
            " FROM generate_series(1, %s) g", [user.pk, user.pk, app.pk, count])
        cursor.execute(
            "INSERT INTO billing_entry (transaction_id, account_id, amount)"
            " SELECT t.id, a.account_id, a.amount FROM billing_transaction t"
            " CROSS JOIN (VALUES (%s, 0.000001), (%s, -0.000001)) AS a(account_id, amount)"
            " WHERE t.idempotency_key LIKE %s", [wallet.pk, fees.pk, f"history:{user.pk}:%"])
        cursor.execute(
            "INSERT INTO billing_charge (subject, user_id, app_id, price, free_tier, status, hardware, cost,"
            " created_at) SELECT 'history:' || %s || ':' || g, %s, %s, 0.000001, false, 'settled', 'cpu', 0,"
            " now() - interval '40 days' FROM generate_series(1, %s) g", [user.pk, user.pk, app.pk, count])
        cursor.execute("UPDATE billing_wallet SET balance = balance - %s WHERE user_id = %s",
                       [D("0.000001") * count, user.pk])
        cursor.execute("ANALYZE billing_entry; ANALYZE billing_charge; ANALYZE billing_transaction")


def _admission_statements(count: int) -> tuple[list[str], float]:
    import time

    app = _ready(PaidAppFactory(base_price=D("0.01"), k=D("0"), max_price=D("0.05")))
    runner = UserFactory()
    LibraryEntryFactory(user=runner, app=app)
    fund(runner, "5.00")
    _seed_history(runner, app, count)
    client = key_client(runner, scopes=("predict",))
    _warm(client, app)
    assert selectors.ledger_check().ok, selectors.ledger_check().problems
    n, sqls = _count(client, app)
    started = time.perf_counter()
    for _ in range(20):
        assert _post(client, app).status_code in (201, 202)
    return sqls, (time.perf_counter() - started) / 20


def test_admission_does_not_read_the_history():
    """10 or 100,000 past calls on the wallet: the same statements, none over the ledger, the same time."""
    import re

    few, few_seconds = _admission_statements(10)
    many, many_seconds = _admission_statements(100_000)

    def shape(sqls):  # the statements with their literals taken out
        return [re.sub(r"'[^']*'|\b\d+(\.\d+)?\b", "?", sql) for sql in sqls]

    assert shape(few) == shape(many)
    assert not any("billing_entry" in sql or "billing_transaction" in sql for sql in many), "\n".join(many)
    # Generous: on a shared 2-core box single timings wobble; a history-sized scan would be far slower.
    assert many_seconds < few_seconds * 3 + 0.02, (few_seconds, many_seconds)
    print(f"\nadmission with 10 past calls: {few_seconds * 1000:.1f} ms, with 100,000: {many_seconds * 1000:.1f} ms")
