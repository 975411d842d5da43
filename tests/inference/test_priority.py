"""Paid calls jump the queue: with a backlog of free calls, a paid call is run first (Redis and RabbitMQ)."""
import contextlib
import time
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from billing.services import credit_grant
from inference.models import Prediction
from tests.factories import LibraryEntryFactory, PaidAppFactory

from .conftest import ready_version

pytestmark = pytest.mark.integration


def _purge(queue: str) -> None:
    from kombu import Queue

    from config.celery import app

    # Not declared yet on a fresh broker: nothing to purge.
    with app.connection_for_write() as conn, contextlib.suppress(Exception):
        Queue(queue, channel=conn.default_channel).purge()


def test_a_paid_prediction_runs_before_a_backlog_of_free_ones(celery_worker_factory, published_app, runner,
                                                             tiny_models):
    _purge("inference-cpu")
    ready_version(published_app, tiny_models["classifier"], task="text-classification")
    paid_app = PaidAppFactory()
    ready_version(paid_app, tiny_models["classifier"], task="text-classification")
    LibraryEntryFactory(user=runner, app=paid_app)
    credit_grant(user=runner, amount=Decimal("5.00"), memo="priority test", granted_by=None)
    client = APIClient()
    client.force_authenticate(runner)
    free_ids = []
    for n in range(6):
        response = client.post(f"/api/v1/apps/{published_app.slug}/predictions/", {"input": {"text": f"free {n}"}},
                               format="json")
        assert response.status_code == 202, response.content
        free_ids.append(response.json()["id"])
    paid = client.post(f"/api/v1/apps/{paid_app.slug}/predictions/", {"input": {"text": "paid"}}, format="json")
    assert paid.status_code == 202 and Decimal(paid.json()["price"]) > 0, paid.content
    # Only now a worker comes: one slot, one message at a time, so the broker's order decides.
    celery_worker_factory(queues="inference-cpu", concurrency=1)
    deadline = time.monotonic() + 120
    while Prediction.objects.filter(pk__in=[*free_ids, paid.json()["id"]], status="succeeded").count() < 7:
        assert time.monotonic() < deadline, "predictions did not finish"
        time.sleep(0.2)
    order = list(Prediction.objects.filter(pk__in=[*free_ids, paid.json()["id"]]).order_by("started_at")
                 .values_list("id", flat=True))
    assert str(order[0]) == paid.json()["id"], order
