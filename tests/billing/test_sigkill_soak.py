"""SIGKILL soak: 500 paid predictions through the public API while real workers are killed every few seconds.

Only the public surface is used (HTTP API calls in, `celery worker` processes out), so the test keeps meaning
the same thing whatever the worker does inside (batching, bulk settlement). Kills alternate between the pool
process (billiard notices, the task is requeued at once) and the whole worker process group (the broker
redelivers after the visibility timeout). At the end: no prediction lost, none charged twice, the books balance.
Bounded: SOAK_PREDICTIONS (500) calls; a kill every SOAK_KILL_EVERY (3) seconds once SOAK_KILL_AFTER (10) more
calls finished since the last kill (so the soak makes progress on a slow machine, where a new pool process needs
seconds to import torch); at most SOAK_MAX_SECONDS (420). Three workers; the longest-lived one is the victim.
"""
import json
import os
import signal
import threading
import time
from decimal import Decimal

import pytest
from django.core.management import call_command

from billing import selectors
from billing.models import Charge, Transaction
from inference.models import Prediction
from tests.conftest import ARTIFACTS, key_client
from tests.factories import LibraryEntryFactory, PaidAppFactory, UserFactory
from tests.inference.conftest import ready_version, tiny_models  # noqa: F401 - fixture

from .conftest import fund

pytestmark = [pytest.mark.integration, pytest.mark.soak]
D = Decimal
PREDICTIONS = int(os.environ.get("SOAK_PREDICTIONS", "500"))
KILL_EVERY = float(os.environ.get("SOAK_KILL_EVERY", "3"))
KILL_AFTER = int(os.environ.get("SOAK_KILL_AFTER", "10"))
MAX_SECONDS = float(os.environ.get("SOAK_MAX_SECONDS", "420"))
PRICE = D("0.010000")


def _pool_pids(worker) -> list[int]:
    """The worker's pool processes: children of its main process (Linux /proc)."""
    children = f"/proc/{worker.proc.pid}/task/{worker.proc.pid}/children"
    try:
        with open(children) as handle:
            return [int(pid) for pid in handle.read().split()]
    except OSError:
        return []


def _terminal_count(client) -> tuple[int, dict]:
    """Statuses of all our predictions, read through the API's paginated list."""
    statuses: dict[str, str] = {}
    url = "/api/v1/predictions/?page_size=100"
    while url:
        body = client.get(url).json()
        statuses.update({item["id"]: item["status"] for item in body["results"]})
        url = body["next"]
    terminal = sum(status in ("succeeded", "failed", "canceled") for status in statuses.values())
    return terminal, statuses


@pytest.mark.django_db(transaction=True)
def test_500_paid_predictions_survive_workers_killed_every_few_seconds(celery_worker_factory, tiny_models,  # noqa: F811
                                                                      monkeypatch):
    # Whole-process kills leave unacked messages in Redis: let the broker hand them out again after 5 s.
    monkeypatch.setenv("CELERY_VISIBILITY_TIMEOUT", "5")
    # A kill between the broker's pop and its unacked record loses the message (kombu#305): workers re-send
    # predictions queued longer than this (inference/worker/recovery.py).
    monkeypatch.setenv("PREDICTION_REQUEUE_AFTER_SECONDS", "10")
    # With the Redis dispatch a killed worker's held ids are queued again once its lease runs out.
    monkeypatch.setenv("PREDICTION_DISPATCH_LEASE_SECONDS", "5")
    app = PaidAppFactory(base_price=PRICE, k=D("0"), max_price=PRICE)
    ready_version(app, tiny_models["classifier"], task="text-classification")
    buyer = UserFactory()
    LibraryEntryFactory(user=buyer, app=app)
    fund(buyer, str(PRICE * PREDICTIONS * 2))
    client = key_client(buyer, scopes=("read", "predict"))
    client.api_key.rate_limit = "100000/min"  # 500 creates plus polling: this key is not what is under test
    client.api_key.save(update_fields=["rate_limit"])

    workers = [celery_worker_factory(queues="inference-cpu", concurrency=1) for _ in range(3)]
    stop = threading.Event()
    kills = {"pool": 0, "group": 0, "in_flight_at_kill": 0}

    def finished() -> int:
        from django.db import connection

        try:
            return Prediction.objects.filter(app=app, status__in=["succeeded", "failed", "canceled"]).count()
        finally:
            connection.close()

    def killer():
        turn, last = 0, 0
        while not stop.wait(KILL_EVERY):
            done = finished()
            if done - last < KILL_AFTER and done < PREDICTIONS:
                continue
            last = done
            kills["in_flight_at_kill"] += Prediction.objects.filter(app=app, status__in=["starting", "processing"]) \
                .count()
            index = turn % len(workers)  # round robin: the victim is the one that lived longest
            victim = workers[index]
            pool = _pool_pids(victim)
            if turn % 2 == 0 and pool:
                for pid in pool:
                    os.kill(pid, signal.SIGKILL)
                kills["pool"] += 1  # billiard starts a new pool process; the lost task is requeued
            else:
                os.killpg(victim.proc.pid, signal.SIGKILL)
                victim.proc.wait(timeout=30)
                kills["group"] += 1
                workers[index] = celery_worker_factory(queues="inference-cpu", concurrency=1)
            turn += 1

    started = time.monotonic()
    chaos = threading.Thread(target=killer, daemon=True)
    chaos.start()
    created = []
    for number in range(PREDICTIONS):
        response = client.post(f"/api/v1/apps/{app.slug}/predictions/",
                               {"input": {"text": f"soak call {number}: profits rose"}}, format="json")
        assert response.status_code in (201, 202), response.content
        created.append(response.json()["id"])
    terminal, statuses = 0, {}
    while time.monotonic() - started < MAX_SECONDS:
        terminal, statuses = _terminal_count(client)
        if terminal == PREDICTIONS:
            break
        time.sleep(1)
    stop.set()
    chaos.join(timeout=90)
    if terminal < PREDICTIONS:  # give the survivors (no more kills) a last bounded chance
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and terminal < PREDICTIONS:
            time.sleep(1)
            terminal, statuses = _terminal_count(client)
    elapsed = time.monotonic() - started
    time.sleep(2)  # a late duplicate settlement would show up here

    succeeded = [pid for pid, status in statuses.items() if status == "succeeded"]
    settles = Transaction.objects.filter(kind="settle", prediction_id__in=created)
    settled_ids = list(settles.values_list("prediction_id", flat=True))
    figures = {
        "predictions": PREDICTIONS, "succeeded": len(succeeded), "terminal": terminal, "seconds": round(elapsed, 1),
        "pool_kills": kills["pool"], "worker_kills": kills["group"], "in_flight_at_kill": kills["in_flight_at_kill"],
        "settlements": len(settled_ids), "double_settlements": len(settled_ids) - len(set(settled_ids)),
        "releases": Transaction.objects.filter(kind="release", prediction_id__in=created).count(),
    }
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "soak-summary.json").write_text(json.dumps(figures, indent=2))

    assert kills["pool"] + kills["group"] >= 3, figures  # the soak really killed workers
    assert sorted(statuses) == sorted(created), "the API lists every prediction we made"
    assert len(succeeded) == PREDICTIONS, figures  # 0 lost (none stuck, none failed by the kills)
    assert figures["double_settlements"] == 0 and len(settled_ids) == PREDICTIONS, figures
    assert figures["releases"] == 0, figures
    assert Charge.objects.filter(subject__in=[f"prediction:{pid}" for pid in created], status="settled").count() \
        == PREDICTIONS
    answer = client.get("/api/v1/billing/balance/")
    assert answer.status_code == 200, answer.content
    balance = answer.json()
    assert D(balance["balance"]) == PRICE * PREDICTIONS and D(balance["held"]) == 0, balance
    assert selectors.ledger_check().ok
    call_command("check_ledger")  # the operator's command agrees (it raises when the books do not balance)
