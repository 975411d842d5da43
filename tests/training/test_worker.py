"""Real training on a real Celery worker: tiny transformers and Keras models, cancel, time limit, dead worker."""
import os
import signal
import time
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile

from billing.models import Charge, ChargeStatus
from marketplace.models import AppVersion
from tests.conftest import key_client
from training import services
from training.models import JobStatus, TrainingJob

from .conftest import csv_bytes, small_rows

pytestmark = pytest.mark.integration
JOBS = "/api/v1/training-jobs/"


def wait_for(job_id: int, predicate, timeout: float = 180.0) -> TrainingJob:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = TrainingJob.objects.get(pk=job_id)
        if predicate(job):
            return job
        time.sleep(0.2)
    job = TrainingJob.objects.get(pk=job_id)
    raise AssertionError(f"job {job_id} stuck in {job.status} ({job.progress:.0%}): {job.error}\n{job.logs[-2000:]}")


def start_job(client, version, dataset, **hyperparameters) -> dict:
    body = {"base_app": version.app.slug, "base_version": version.version, "dataset": dataset.pk,
            "hyperparameters": hyperparameters}
    response = client.post(JOBS, body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def assert_settled_from_compute_seconds(job_id: int, body: dict) -> Decimal:
    """The real job's settlement: compute seconds × the hardware rate, capped at the hold; the rest returned."""
    from django.conf import settings

    from billing.ledger import money
    from billing.models import Transaction

    charge = Charge.objects.get(subject=f"training:{job_id}")
    rate = settings.BILLING_TRAINING_PRICE_PER_SECOND[body.get("hardware", "cpu")]
    expected = min(charge.price, money(Decimal(body["compute_seconds"]) * rate))
    assert expected > 0
    settle = Transaction.objects.get(kind="settle", memo=f"training:{job_id}")
    amounts = {entry.account.kind: entry.amount for entry in settle.entries.select_related("account")}
    assert "holds" not in amounts                            # a hold is the wallet's `held` column, not a posting
    assert -amounts["platform_fees"] == expected              # the platform earns exactly the metered price
    assert amounts["wallet"] == expected                      # the wallet pays just that; the rest of the hold ends
    assert charge.compute_seconds == Decimal(body["compute_seconds"]) and charge.cost > 0
    return expected


def assert_trained(client, job_id: int, *, framework: str) -> dict:
    job = wait_for(job_id, lambda j: j.is_final)
    body = client.get(f"{JOBS}{job_id}/").json()
    assert body["status"] == "succeeded", (body["error"], body["logs"])
    assert body["progress"] == 1.0
    assert body["metrics"]["epoch"] == 2
    assert body["metrics"]["loss"] > 0
    assert 0 <= body["metrics"]["eval_accuracy"] <= 1
    assert len(body["history"]["epochs"]) == 2 and body["history"]["loss"]
    assert body["result_artifact"]["validated"] is True
    assert body["model_card"]["base"]["framework"] == framework
    assert body["model_card"]["dataset"]["train_rows"] == 30
    assert body["model_card"]["hyperparameters"]["epochs"] == 2
    assert body["model_card"]["labels"] == ["negative", "neutral", "positive"]
    assert float(body["compute_seconds"]) > 0
    # Billed per compute second, never above the held estimate.
    charge = Charge.objects.get(subject=f"training:{job_id}")
    assert charge.status == ChargeStatus.SETTLED
    assert charge.price == Decimal(body["estimate"]["price"])
    assert_settled_from_compute_seconds(job_id, body)
    # The artifact is real: it loads in the inference runtime and classifies into the dataset's labels.
    from inference.artifacts import check_keras_file, check_transformers_folder, zip_extract
    from inference.runtimes import load

    download = client.get(body["result_artifact"]["download_url"])
    assert download.status_code == 200
    raw = b"".join(download.streaming_content)
    assert len(raw) == body["result_artifact"]["size"]
    path = job.result_artifact.path
    if framework == "keras":
        check_keras_file(path)
    else:
        path = zip_extract(path, os.path.join(os.path.dirname(path), "unpacked"))
        check_transformers_folder(path)
    predictor = load(str(path), framework=framework, task="text-classification", labels=body["model_card"]["labels"])
    output = predictor.predict([{"text": "Profit rose to a record."}])[0]
    assert {entry["label"] for entry in output["labels"]} == {"negative", "neutral", "positive"}
    return body


def test_tiny_transformers_and_keras_models_train_to_success(
        trainer, bert_version, keras_version, dataset, celery_worker_factory):
    celery_worker_factory(queues="training,inference-cpu,validation")
    client = key_client(trainer)
    bert_job = start_job(client, bert_version, dataset, epochs=2, batch_size=8, learning_rate=0.001, max_length=32)
    keras_job = start_job(client, keras_version, dataset, epochs=2, batch_size=8)
    assert bert_job["status"] == "queued" and float(bert_job["estimate"]["price"]) > 0
    bert = assert_trained(client, bert_job["id"], framework="transformers")
    assert "BertForSequenceClassification" in bert["logs"]
    keras_body = assert_trained(client, keras_job["id"], framework="keras")
    assert "Keeping the base model's classification head" in keras_body["logs"]
    # The wallet paid exactly the two metered prices and holds nothing any more; the books balance.
    from billing import selectors

    paid = sum(assert_settled_from_compute_seconds(body["id"], body) for body in (bert, keras_body))
    assert selectors.user_held(user=trainer) == 0
    assert selectors.user_balance(user=trainer) == Decimal("50.00") - paid
    assert selectors.ledger_check().ok

    # Publish the fine-tuned encoder: a new version that goes through the upload validation on a worker.
    response = client.post(f"{JOBS}{bert_job['id']}/publish/", {"version": "1.1.0"}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["published_version"] == {"app": "tiny-encoder", "version": "1.1.0", "status": "uploaded"}
    version = AppVersion.objects.get(app=bert_version.app, version="1.1.0")
    deadline = time.monotonic() + 120
    while version.status in ("uploaded", "validating") and time.monotonic() < deadline:
        time.sleep(0.3)
        version.refresh_from_db()
    assert version.status == "ready", version.error
    assert version.task == "text-classification" and version.sha256 == bert["result_artifact"]["sha256"]
    assert version.model_card["base"] == {"app": "tiny-encoder", "version": "1.0.0", "framework": "transformers",
                                          "task": "feature-extraction", "sha256": bert_version.sha256}
    assert version.model_card["hyperparameters"]["learning_rate"] == 0.001
    assert version.metrics["eval_accuracy"] == bert["metrics"]["eval_accuracy"]
    assert sorted(version.metrics["labels"]) == ["negative", "neutral", "positive"]
    again = client.post(f"{JOBS}{bert_job['id']}/publish/", {"version": "1.2.0"}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_published"


def long_job(client, version, trainer, **extra) -> dict:
    rows = small_rows(per_label=40)
    big = services.dataset_create(owner=trainer, file=ContentFile(csv_bytes(rows), name="long.csv"))
    return start_job(client, version, big, epochs=20, batch_size=1, max_length=16, **extra)


def test_cancel_stops_a_running_job_within_seconds(trainer, bert_version, celery_worker_factory):
    celery_worker_factory(queues="training")
    client = key_client(trainer)
    job = long_job(client, bert_version, trainer)
    wait_for(job["id"], lambda j: j.status == JobStatus.RUNNING and j.step >= 5)
    response = client.post(f"{JOBS}{job['id']}/cancel/")
    assert response.status_code == 200
    asked = time.monotonic()
    final = wait_for(job["id"], lambda j: j.is_final, timeout=30)
    assert final.status == JobStatus.CANCELED
    assert time.monotonic() - asked < 10
    assert final.progress < 0.5
    assert "freed its memory" in final.logs
    assert not final.result_artifact
    assert Charge.objects.get(subject=f"training:{job['id']}").status == ChargeStatus.RELEASED
    # Canceling again is harmless; a finished job cannot be canceled.
    assert client.post(f"{JOBS}{job['id']}/cancel/").json()["status"] == "canceled"


def test_time_limit_stops_the_job(trainer, bert_version, celery_worker_factory):
    celery_worker_factory(queues="training")
    client = key_client(trainer)
    # Enough work that no machine finishes it inside the limit: the whole shipped set (3 x 225 rows) for 20
    # epochs at batch 1, ~13,500 steps. With 120 rows a quiet machine once finished in under 10 s.
    rows = small_rows(per_label=225)
    big = services.dataset_create(owner=trainer, file=ContentFile(csv_bytes(rows), name="long.csv"))
    response = client.post(JOBS, {"base_app": bert_version.app.slug, "base_version": bert_version.version,
                                  "dataset": big.pk, "time_limit_seconds": 10,
                                  "hyperparameters": {"epochs": 20, "batch_size": 1}}, format="json")
    assert response.status_code == 201, response.json()
    final = wait_for(response.json()["id"], lambda j: j.is_final, timeout=90)
    assert final.status == JobStatus.FAILED
    assert "time limit of 10 seconds" in final.error


def test_a_worker_killed_mid_job_leaves_the_job_failed_not_running(
        trainer, bert_version, celery_worker_factory, settings):
    worker = celery_worker_factory(queues="training")
    client = key_client(trainer)
    job = long_job(client, bert_version, trainer)
    wait_for(job["id"], lambda j: j.status == JobStatus.RUNNING and j.step >= 3)
    os.killpg(worker.proc.pid, signal.SIGKILL)
    worker.proc.wait(timeout=10)
    assert TrainingJob.objects.get(pk=job["id"]).status == JobStatus.RUNNING
    # The reaper finds it once its heartbeat is older than the stale threshold.
    settings.TRAINING_STALE_SECONDS = 2
    time.sleep(2.5)
    assert services.training_jobs_reap_stale() == 1
    body = client.get(f"{JOBS}{job['id']}/").json()
    assert body["status"] == "failed"
    assert "stopped responding" in body["error"]
