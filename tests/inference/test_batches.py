"""The batch-native worker path, in-process with a real tiny model: claim, one forward pass, one finishing
transaction (bulk outputs + one settlement), a bad input failing alone, a cancel while batched."""
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing import selectors
from billing.models import Charge, Transaction
from inference import services
from inference.models import Prediction, PredictionStatus
from inference.services import predictions
from inference.worker.execute import prediction_batch_run
from inference.worker.loading import version_load
from tests.billing.conftest import fund
from tests.factories import AppFactory, LibraryEntryFactory, PaidAppFactory, UserFactory

from .conftest import ready_version

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


@pytest.fixture
def setup(tiny_models, monkeypatch):
    monkeypatch.setattr(predictions, "_enqueue_prediction", lambda *args: None)  # the broker is not under test
    app = PaidAppFactory(base_price=D("0.10"), k=D("0"), max_price=D("1"))
    version = ready_version(app, tiny_models["classifier"], task="text-classification", max_batch_size=16)
    runner = UserFactory()
    LibraryEntryFactory(user=runner, app=app)
    fund(runner, "10.00")
    predictor = version_load(version)
    return app, version, runner, predictor


def _create(app, runner, count: int, text: str = "profits rose") -> list[str]:
    return [str(services.prediction_create(user=runner, app=app, input={"text": f"{text} {i}"})[0].pk)
            for i in range(count)]


def _run(version, predictor, ids: list[str]):
    with CaptureQueriesContext(connection) as context:
        prediction_batch_run(version=version, predictor=predictor, items=[{"id": i} for i in ids],
                             worker="test pid=1", device="cpu")
    return [q["sql"] for q in context.captured_queries]


def test_a_batch_finishes_in_the_same_few_statements_for_2_or_8(setup):
    app, version, runner, predictor = setup
    _run(version, predictor, _create(app, runner, 1))  # the first settlement creates the ledger accounts
    small = _run(version, predictor, _create(app, runner, 2))
    ids = _create(app, runner, 8)
    large = _run(version, predictor, ids)
    assert len(small) == len(large), "\n".join(large)
    claims = [sql for sql in large if sql.startswith("UPDATE inference_prediction SET status = 'processing'")]
    assert len(claims) == 1
    # The finish locks and writes the still-live rows with one UPDATE ... RETURNING (no SELECT ... FOR UPDATE first)
    writes = [sql for sql in large if sql.startswith('UPDATE "inference_prediction"')]
    assert len(writes) == 1 and "RETURNING" in writes[0] and "= ANY(" in writes[0]
    assert not [sql for sql in large if sql.startswith('SELECT "inference_prediction"') and "FOR UPDATE" in sql]
    assert len(large) <= 13, "\n".join(large)
    done = list(Prediction.objects.filter(pk__in=ids))
    assert {p.status for p in done} == {PredictionStatus.SUCCEEDED}
    assert {p.metrics["batch_size"] for p in done} == {8} and all(p.metrics["predict_ms"] > 0 for p in done)
    assert all(p.output["labels"] and p.attempts == 1 and p.started_at and p.completed_at for p in done)
    assert Transaction.objects.filter(kind="settle").count() == 11
    assert selectors.user_held(user=runner) == 0 and selectors.user_balance(user=runner) == D("8.90")
    app.refresh_from_db()
    assert app.runs_count == 11
    assert selectors.ledger_check().ok, selectors.ledger_check().problems
    # Running the same batch again (a redelivery) changes nothing: completed once, charged once.
    again = _run(version, predictor, ids)
    assert len(again) == 1 and Transaction.objects.filter(kind="settle").count() == 11


def test_a_batch_of_free_calls_reads_no_ledger_account_and_locks_with_its_write(tiny_models, monkeypatch):
    """A free app's batch posts nothing to the ledger, so its finish reads no account; the still-live rows are
    locked by the write itself. Claim, BEGIN, the outputs, the held charges, their close, the run count, COMMIT."""
    monkeypatch.setattr(predictions, "_enqueue_prediction", lambda *args: None)
    app = AppFactory()
    version = ready_version(app, tiny_models["classifier"], task="text-classification", max_batch_size=16)
    runner = UserFactory()
    LibraryEntryFactory(user=runner, app=app)
    predictor = version_load(version)
    _run(version, predictor, _create(app, runner, 1))
    ids = _create(app, runner, 4)
    statements = _run(version, predictor, ids)
    assert [sql.split(" ", 2)[:2] for sql in statements] == [
        ["UPDATE", "inference_prediction"], ["BEGIN"], ["UPDATE", '"inference_prediction"'], ["SELECT", 'c."id",'],
        ["UPDATE", '"billing_charge"'], ["UPDATE", '"marketplace_app"'], ["COMMIT"]], "\n".join(statements)
    assert {p.status for p in Prediction.objects.filter(pk__in=ids)} == {PredictionStatus.SUCCEEDED}
    assert {c.status for c in Charge.objects.filter(subject__in=[f"prediction:{i}" for i in ids])} == {"settled"}
    assert selectors.ledger_check().ok, selectors.ledger_check().problems


def test_a_bad_input_inside_a_batch_fails_only_its_own_prediction(setup):
    app, version, runner, predictor = setup
    ids = _create(app, runner, 4)
    Prediction.objects.filter(pk=ids[1]).update(input={"text": 12345})  # the tokenizer refuses a number
    _run(version, predictor, ids)
    statuses = {str(p.pk): p for p in Prediction.objects.filter(pk__in=ids)}
    assert statuses[ids[1]].status == PredictionStatus.FAILED and statuses[ids[1]].error
    assert all(statuses[i].status == PredictionStatus.SUCCEEDED for i in ids if i != ids[1])
    assert Charge.objects.get(subject=f"prediction:{ids[1]}").status == "released"
    assert Transaction.objects.filter(kind="settle").count() == 3
    assert selectors.user_held(user=runner) == 0 and selectors.user_balance(user=runner) == D("9.70")
    assert selectors.ledger_check().ok, selectors.ledger_check().problems


def test_cancel_while_batched_is_not_charged_and_stays_canceled(setup):
    app, version, runner, predictor = setup
    ids = _create(app, runner, 3)

    class CancelDuringForwardPass:
        """The real model; the caller cancels one prediction while the batch is in its forward pass."""

        def predict(self, items):
            services.prediction_cancel(prediction=Prediction.objects.get(pk=ids[0]), actor=runner)
            return predictor.predict(items)

    _run(version, CancelDuringForwardPass(), ids)
    canceled = Prediction.objects.get(pk=ids[0])
    assert canceled.status == PredictionStatus.CANCELED and canceled.output is None
    assert all(p.status == PredictionStatus.SUCCEEDED for p in Prediction.objects.filter(pk__in=ids[1:]))
    assert Charge.objects.get(subject=f"prediction:{ids[0]}").status == "released"
    assert not Transaction.objects.filter(kind="settle", prediction_id=ids[0]).exists()
    assert selectors.user_held(user=runner) == 0 and selectors.user_balance(user=runner) == D("9.80")
    # Canceled before the claim: the batch does not even pick it up.
    later = _create(app, runner, 2)
    services.prediction_cancel(prediction=Prediction.objects.get(pk=later[0]), actor=runner)
    _run(version, predictor, later)
    assert Prediction.objects.get(pk=later[0]).status == PredictionStatus.CANCELED
    assert Prediction.objects.get(pk=later[1]).status == PredictionStatus.SUCCEEDED
    assert selectors.ledger_check().ok, selectors.ledger_check().problems


def test_a_lost_database_connection_is_retried_not_a_failed_prediction(setup, monkeypatch):
    """The runner thread's PostgreSQL backend is killed between two calls (as when the database restarts or the
    link drops): the next prediction still succeeds, charged once, instead of ending `failed`."""
    from inference.worker.execute import prediction_execute

    # Persistent connections, as workers run in production (the tests' default, 0, reconnects every batch).
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 600)
    app, version, runner, _predictor = setup
    first, second = _create(app, runner, 2)
    prediction_execute(prediction_id=first, version_id=version.pk, stream=False)  # the runner thread connects
    assert Prediction.objects.get(pk=first).status == PredictionStatus.SUCCEEDED
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        assert cursor.fetchall(), "the runner thread's connection should have been there to kill"
    prediction_execute(prediction_id=second, version_id=version.pk, stream=False)
    done = Prediction.objects.get(pk=second)
    assert done.status == PredictionStatus.SUCCEEDED, done.error
    assert Transaction.objects.filter(prediction_id=second, kind="settle").count() == 1
    assert selectors.ledger_check().ok
