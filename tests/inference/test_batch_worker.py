"""A real threads-pool worker (as `inference_worker` runs it) SIGKILLed while it holds a batch of 8 paid calls:
after redelivery each prediction is completed once and charged once, and the books balance."""
import os
import re
import signal
import time
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from billing import selectors
from billing.models import Charge, Transaction
from inference.models import Prediction, PredictionStatus
from tests.billing.conftest import fund
from tests.factories import LibraryEntryFactory, PaidAppFactory, UserFactory
from tests.helpers import wait_until as _wait

from .conftest import ready_version

pytestmark = pytest.mark.integration
D = Decimal


def test_sigkill_with_a_batch_of_8_completes_and_charges_each_exactly_once(celery_worker_factory, tiny_models,
                                                                          monkeypatch):
    # Redelivery of the killed worker's unacked messages after 3 s (the broker checks every ~10 s).
    monkeypatch.setenv("CELERY_VISIBILITY_TIMEOUT", "3")
    app = PaidAppFactory(base_price=D("0.10"), k=D("0"), max_price=D("1"))
    ready_version(app, tiny_models["classifier"], task="text-classification", max_batch_size=8, max_wait_ms=500)
    runner = UserFactory()
    LibraryEntryFactory(user=runner, app=app)
    fund(runner, "2.00")
    first = celery_worker_factory(queues="inference-cpu", concurrency=16, pool="threads")
    client = APIClient()
    client.force_authenticate(runner)
    ids = []
    for i in range(8):
        created = client.post(f"/api/v1/apps/{app.slug}/predictions/", {"input": {"text": f"profits rose {i}"}},
                              format="json")
        assert created.status_code == 202, created.content
        ids.append(created.json()["id"])
    assert selectors.user_held(user=runner) == D("0.80")
    # All 8 taken by the worker (it is importing torch and loading the model): kill it without mercy.
    _wait(lambda: Prediction.objects.filter(pk__in=ids, status__in=["starting", "processing"])
          .exclude(worker="").count() == 8, every=0.01)
    pid = int(re.search(r"pid=(\d+)", Prediction.objects.get(pk=ids[0]).worker).group(1))
    assert pid == first.proc.pid
    os.kill(pid, signal.SIGKILL)
    first.proc.wait(timeout=30)
    celery_worker_factory(queues="inference-cpu", concurrency=16, pool="threads")
    done = _wait(lambda: (lambda rows: rows if all(p.is_terminal for p in rows) else None)(
        list(Prediction.objects.filter(pk__in=ids))), timeout=240, every=0.2)
    time.sleep(2)  # a duplicate completion or settlement would show up here
    assert {p.status for p in done} == {PredictionStatus.SUCCEEDED}, [p.error for p in done]
    assert all(p.attempts == 2 and "Restarted" in p.logs for p in done)
    assert max(p.metrics["batch_size"] for p in done) > 1  # they really ran batched
    for pid_ in ids:
        assert Transaction.objects.filter(prediction_id=pid_, kind="settle").count() == 1
        assert Charge.objects.get(subject=f"prediction:{pid_}").status == "settled"
    assert selectors.user_held(user=runner) == 0 and selectors.user_balance(user=runner) == D("1.20")
    assert Prediction.objects.filter(pk__in=ids).values("completed_at").distinct().count() <= 8
    app.refresh_from_db()
    assert app.runs_count == 8
    assert selectors.ledger_check().ok, selectors.ledger_check().problems
