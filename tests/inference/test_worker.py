"""A real Celery worker on the configured broker: upload → validate → ready → predict → result; and SIGKILL."""
import os
import re
import signal
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from inference.models import Prediction, PredictionStatus
from marketplace.models import App, AppVersion, VersionStatus

from .conftest import ready_version

pytestmark = pytest.mark.integration




def _wait(condition, timeout: float = 120.0, every: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("timed out waiting")


def test_upload_validate_and_predict_through_a_real_worker(celery_worker_factory, published_app,
                                                           runner, tiny_models):
    celery_worker_factory(queues="inference-cpu,webhooks,validation", concurrency=1)
    owner = APIClient()
    owner.force_authenticate(published_app.owner)
    upload = owner.post(f"/api/v1/apps/{published_app.slug}/versions/", {
        "artifact": SimpleUploadedFile("model.zip", tiny_models["classifier"].read_bytes()), "version": "1.0.0",
        "task": "text-classification", "framework": "transformers"}, format="multipart")
    assert upload.status_code == 201, upload.content
    version = _wait(lambda: AppVersion.objects.filter(app=published_app, status__in=["ready", "invalid"]).first())
    assert version.status == VersionStatus.READY, version.error
    detail = owner.get(f"/api/v1/apps/{published_app.slug}/versions/1.0.0/").json()
    assert detail["metrics"]["parameters"] > 0

    client = APIClient()
    client.force_authenticate(runner)
    response = client.post(f"/api/v1/apps/{published_app.slug}/predictions/", {"input": {"text": "profits rose"}},
                           format="json", HTTP_PREFER="wait=60")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "succeeded"
    assert body["output"]["labels"][0]["label"] in {"negative", "positive"}
    assert body["metrics"]["queue_ms"] >= 0 and body["metrics"]["predict_ms"] > 0
    # Polling works too, and the second run finds the model warm in the worker's cache.
    second = client.post(f"/api/v1/apps/{published_app.slug}/predictions/", {"input": {"text": "losses"}},
                         format="json").json()
    final = _wait(lambda: (lambda b: b if b["status"] in ("succeeded", "failed") else None)(
        client.get(f"/api/v1/predictions/{second['id']}/").json()))
    assert final["status"] == "succeeded" and final["metrics"]["load_ms"] == 0
    published_app.refresh_from_db()
    assert published_app.runs_count == 2


def test_a_worker_killed_mid_prediction_still_completes_it_exactly_once(celery_worker_factory,
                                                                         published_app, runner, tiny_models):
    ready_version(published_app, tiny_models["generator"], task="text-generation")
    first = celery_worker_factory(queues="inference-cpu", concurrency=1)
    client = APIClient()
    client.force_authenticate(runner)
    created = client.post(f"/api/v1/apps/{published_app.slug}/predictions/",
                          {"input": {"text": "Guard:", "max_new_tokens": 64}}, format="json").json()
    # The pool process is loading torch and the model: kill it without mercy.
    claimed = _wait(lambda: Prediction.objects.filter(pk=created["id"], status__in=["starting", "processing"])
                    .exclude(worker="").first(), every=0.01)
    pid = int(re.search(r"pid=(\d+)", claimed.worker).group(1))
    os.kill(pid, signal.SIGKILL)
    celery_worker_factory(queues="inference-cpu", concurrency=1)
    done = _wait(lambda: Prediction.objects.filter(pk=created["id"], status__in=["succeeded", "failed"]).first(),
                 timeout=180)
    assert done.status == PredictionStatus.SUCCEEDED, (done.error, first.log_path.read_text()[-3000:])
    assert done.attempts == 2 and "Restarted" in done.logs
    assert isinstance(done.output["text"], str)
    time.sleep(2)  # a duplicate run would show up here
    assert App.objects.get(pk=published_app.pk).runs_count == 1
    assert Prediction.objects.get(pk=created["id"]).completed_at == done.completed_at


def test_a_claimed_prediction_nobody_finishes_is_run_again_by_a_live_worker(celery_worker_factory, published_app,
                                                                           runner, tiny_models, monkeypatch):
    """The state a worker leaves when it acknowledged a message but could not record the outcome (the database
    away): the row claimed, no message anywhere. The workers' requeue loop runs it again, once."""
    from datetime import timedelta

    from django.utils import timezone

    version = ready_version(published_app, tiny_models["classifier"], task="text-classification")
    AppVersion.objects.filter(pk=version.pk).update(soft_time_limit=2)
    orphan = Prediction.objects.create(app=published_app, version=version, user=runner, input={"text": "rose"},
                                       status="processing", worker="gone-host pid=1", attempts=1,
                                       started_at=timezone.now() - timedelta(seconds=30))
    monkeypatch.setenv("PREDICTION_REQUEUE_AFTER_SECONDS", "2")
    celery_worker_factory(queues="inference-cpu", concurrency=2, pool="threads")
    done = _wait(lambda: Prediction.objects.filter(pk=orphan.pk, status__in=["succeeded", "failed"]).first(),
                 timeout=120)
    assert done.status == PredictionStatus.SUCCEEDED, done.error
    assert done.attempts == 2 and "Restarted" in done.logs and "gone-host" not in done.worker
    assert done.output["labels"][0]["label"] in {"negative", "positive"}
    time.sleep(3)  # re-sent once per limit + grace: no second run
    assert Prediction.objects.get(pk=orphan.pk).attempts == 2
