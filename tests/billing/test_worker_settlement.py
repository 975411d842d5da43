"""A worker SIGKILLed mid-prediction: the task is redelivered, and the call is settled exactly once."""
import os
import re
import signal
import time
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from billing import selectors
from billing.models import Charge, Transaction
from inference.models import Prediction
from tests.factories import LibraryEntryFactory, PaidAppFactory, UserFactory
from tests.helpers import wait_until as _wait
from tests.inference.conftest import ready_version, tiny_models  # noqa: F401 - fixture

from .conftest import fund

pytestmark = pytest.mark.integration
D = Decimal


def test_killed_worker_still_settles_exactly_once(celery_worker_factory, tiny_models):  # noqa: F811
    app = PaidAppFactory(base_price=D("0.250000"), k=D("0"), max_price=D("1"))
    ready_version(app, tiny_models["classifier"], task="text-classification")
    runner = UserFactory()
    LibraryEntryFactory(user=runner, app=app)
    fund(runner, "1.00")
    celery_worker_factory(queues="inference-cpu", concurrency=1)
    client = APIClient()
    client.force_authenticate(runner)
    created = client.post(f"/api/v1/apps/{app.slug}/predictions/",
                          {"input": {"text": "profits rose"}}, format="json")
    assert created.status_code in (201, 202), created.content
    prediction_id = created.json()["id"]
    assert selectors.user_held(user=runner) == D("0.25")
    # The pool process is still importing torch and loading the model when it is killed.
    claimed = _wait(lambda: Prediction.objects.filter(pk=prediction_id, status__in=["starting", "processing"])
                    .exclude(worker="").first(), every=0.01)
    os.kill(int(re.search(r"pid=(\d+)", claimed.worker).group(1)), signal.SIGKILL)
    celery_worker_factory(queues="inference-cpu", concurrency=1)
    done = _wait(lambda: Prediction.objects.filter(pk=prediction_id, status__in=["succeeded", "failed"]).first())
    time.sleep(2)  # a duplicate settlement would show up here
    assert done.status == "succeeded", done.error
    assert done.attempts >= 2  # it really was redelivered after the kill (a slow box may redeliver twice)
    assert Transaction.objects.filter(prediction_id=prediction_id, kind="settle").count() == 1
    assert Transaction.objects.filter(prediction_id=prediction_id, kind="release").count() == 0
    assert Charge.objects.get(subject=f"prediction:{prediction_id}").status == "settled"
    assert selectors.user_balance(user=runner) == D("0.75") and selectors.user_held(user=runner) == 0
    assert selectors.developer_earnings(user=app.owner) == D("0.2")
    assert selectors.ledger_check().ok
