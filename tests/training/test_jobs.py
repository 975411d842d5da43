"""Training jobs without a worker: inputs, bounds, estimate and hold, permissions, cancel, the reaper, claims."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from billing.models import Charge
from billing.selectors import user_balance
from tests.conftest import key_client
from tests.factories import AppFactory, DeveloperFactory, UserFactory
from training import services
from training import worker as training_worker
from training.models import JobStatus, TrainingJob

from .conftest import csv_bytes, ready_version, small_rows

pytestmark = pytest.mark.django_db
JOBS = "/api/v1/training-jobs/"


def body(version, dataset, **hyperparameters) -> dict:
    return {"base_app": version.app.slug, "base_version": version.version, "dataset": dataset.pk,
            "hyperparameters": hyperparameters}


@pytest.fixture
def client(trainer):
    return key_client(trainer)


def test_job_is_created_queued_with_defaults_estimate_and_a_billing_hold(client, trainer, bert_version, dataset):
    before = user_balance(user=trainer)
    response = client.post(JOBS, body(bert_version, dataset), format="json")
    assert response.status_code == 201, response.json()
    job = response.json()
    assert job["status"] == "queued" and job["progress"] == 0
    assert job["hyperparameters"] == {"epochs": 3, "learning_rate": 5e-05, "batch_size": 16, "max_length": 128,
                                      "seed": 42}
    assert job["metrics"] == {"epoch": 0, "loss": None, "eval_accuracy": None, "eval_loss": None}
    assert job["result_artifact"] is None and job["error"] == ""
    price = Decimal(job["estimate"]["price"])
    assert price == Decimal(job["estimate"]["estimated_seconds"]) * Decimal("0.000100")
    charge = Charge.objects.get(subject=f"training:{job['id']}")
    assert charge.price == price
    assert user_balance(user=trainer) == before - price


def test_estimate_endpoint_quotes_without_holding(client, trainer, bert_version, keras_version, dataset):
    response = client.post(f"{JOBS}estimate/", body(bert_version, dataset, epochs=6), format="json")
    assert response.status_code == 200, response.json()
    six = response.json()
    three = client.post(f"{JOBS}estimate/", body(bert_version, dataset, epochs=3), format="json").json()
    assert six["estimated_seconds"] > three["estimated_seconds"] and six["currency"] == "usd"
    keras = client.post(f"{JOBS}estimate/", body(keras_version, dataset), format="json").json()
    assert keras["hyperparameters"]["learning_rate"] == 0.001  # Keras default differs from transformers'
    assert not TrainingJob.objects.exists() and not Charge.objects.exists()


@pytest.mark.parametrize(("params", "field"), [
    ({"epochs": 0}, "epochs"), ({"epochs": 21}, "epochs"), ({"learning_rate": 1}, "learning_rate"),
    ({"learning_rate": "fast"}, "learning_rate"), ({"batch_size": 500}, "batch_size"),
    ({"max_length": 4}, "max_length"), ({"dropout": 0.1}, "dropout"), ({"epochs": True}, "epochs"),
])
def test_hyperparameters_out_of_bounds_are_refused(client, bert_version, dataset, params, field):
    response = client.post(JOBS, body(bert_version, dataset, **params), format="json")
    assert response.status_code == 400
    assert f"hyperparameters.{field}" in response.json()["error"]["fields"]
    assert not TrainingJob.objects.exists()


def test_insufficient_funds_refuses_the_job(bert_version, dataset, trainer):
    poor = DeveloperFactory()
    app = AppFactory(owner=poor)
    version = ready_version(app, data=bert_version.artifact.read(), filename="model.zip",
                            framework="transformers", task="feature-extraction")
    own = services.dataset_create(owner=poor, file=ContentFile(csv_bytes(small_rows()), name="d.csv"))
    response = key_client(poor).post(JOBS, body(version, own), format="json")
    assert response.status_code == 402
    assert not TrainingJob.objects.exists()


def test_base_must_be_a_ready_encoder_or_keras_text_classifier(client, trainer, tiny_bert_zip, dataset):
    app = AppFactory(owner=trainer)
    generator = ready_version(app, data=tiny_bert_zip, filename="model.zip", framework="transformers",
                              task="text-generation", version="2.0.0")
    response = client.post(JOBS, body(generator, dataset), format="json")
    assert response.status_code == 400 and "encoder" in response.json()["error"]["message"]
    pending = ready_version(app, data=tiny_bert_zip, filename="model.zip", framework="transformers",
                            task="feature-extraction", version="2.1.0")
    pending.status = "validating"
    pending.save()
    response = client.post(JOBS, body(pending, dataset), format="json")
    assert response.status_code == 400 and "ready" in response.json()["error"]["message"]
    missing = client.post(JOBS, {**body(pending, dataset), "base_version": "9.9.9"}, format="json")
    assert missing.status_code == 400 and "base_version" in missing.json()["error"]["fields"]


def test_invalid_dataset_cannot_be_trained_on(client, trainer, bert_version):
    bad = services.dataset_create(owner=trainer, file=ContentFile(csv_bytes(small_rows(2)), name="d.csv"))
    assert bad.status == "invalid"
    response = client.post(JOBS, body(bert_version, bad), format="json")
    assert response.status_code == 400 and "invalid" in response.json()["error"]["message"]


def test_permissions_on_jobs(client, trainer, bert_version, dataset):
    job = client.post(JOBS, body(bert_version, dataset), format="json").json()
    stranger = DeveloperFactory()
    other = key_client(stranger)
    # Someone else's job, dataset and draft app all answer 404; a published app that is not yours, 403.
    assert other.get(f"{JOBS}{job['id']}/").status_code == 404
    assert other.post(f"{JOBS}{job['id']}/cancel/").status_code == 404
    assert other.post(f"{JOBS}{job['id']}/publish/", {"version": "9.0.0"}, format="json").status_code == 404
    assert other.get(f"{JOBS}{job['id']}/artifact/").status_code == 404
    assert other.get(JOBS).json()["count"] == 0
    own_dataset = services.dataset_create(owner=stranger, file=ContentFile(csv_bytes(small_rows()), name="d.csv"))
    assert other.post(JOBS, body(bert_version, own_dataset), format="json").status_code == 403
    assert client.post(JOBS, body(bert_version, own_dataset), format="json").status_code == 404
    bert_version.app.status = "draft"
    bert_version.app.save()
    assert other.post(JOBS, body(bert_version, own_dataset), format="json").status_code == 404
    # Non-developers and keys without the publish scope cannot train; anonymous callers must log in.
    assert key_client(UserFactory()).post(JOBS, body(bert_version, dataset), format="json").status_code == 403
    assert key_client(trainer, scopes=("read",)).post(JOBS, body(bert_version, dataset),
                                                       format="json").status_code == 403
    assert key_client(trainer, scopes=("read",)).get(f"{JOBS}{job['id']}/").status_code == 200
    from rest_framework.test import APIClient

    assert APIClient().get(f"{JOBS}{job['id']}/").status_code == 401


def test_cancel_a_queued_job_releases_its_hold(client, trainer, bert_version, dataset):
    before = user_balance(user=trainer)
    job = client.post(JOBS, body(bert_version, dataset), format="json").json()
    response = client.post(f"{JOBS}{job['id']}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "canceled"
    assert user_balance(user=trainer) == before
    assert client.post(f"{JOBS}{job['id']}/cancel/").status_code == 200  # idempotent


def test_cancel_a_running_job_sets_the_flag_the_worker_checks(client, bert_version, dataset):
    job_id = client.post(JOBS, body(bert_version, dataset), format="json").json()["id"]
    assert training_worker.training_job_claim(job_id=job_id, worker="w1") == "run"
    response = client.post(f"{JOBS}{job_id}/cancel/")
    assert response.json()["status"] == "running"
    job = TrainingJob.objects.get(pk=job_id)
    assert job.cancel_requested_at is not None
    reporter = training_worker.JobReporter(job)
    with pytest.raises(training_worker.TrainingStopped) as stopped:
        reporter.step(step=1, total_steps=10, epoch=1, loss=0.7)
    assert stopped.value.reason == "canceled"


def test_finished_jobs_cannot_be_canceled_or_published_twice(client, bert_version, dataset):
    job_id = client.post(JOBS, body(bert_version, dataset), format="json").json()["id"]
    TrainingJob.objects.filter(pk=job_id).update(status=JobStatus.FAILED)
    response = client.post(f"{JOBS}{job_id}/cancel/")
    assert response.status_code == 409 and response.json()["error"]["code"] == "job_finished"
    response = client.post(f"{JOBS}{job_id}/publish/", {"version": "1.1.0"}, format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "job_not_succeeded"


def test_too_many_active_jobs_conflict(client, bert_version, dataset, settings):
    settings.TRAINING_MAX_ACTIVE_JOBS = 1
    assert client.post(JOBS, body(bert_version, dataset), format="json").status_code == 201
    response = client.post(JOBS, body(bert_version, dataset), format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "too_many_jobs"


def test_reaper_fails_silent_running_jobs_and_forgotten_queued_ones(client, trainer, bert_version, dataset):
    before = user_balance(user=trainer)
    ids = [client.post(JOBS, body(bert_version, dataset), format="json").json()["id"] for _ in range(3)]
    silent, healthy, forgotten = ids
    for job_id in (silent, healthy):
        training_worker.training_job_claim(job_id=job_id, worker="w")
    now = timezone.now()
    TrainingJob.objects.filter(pk=silent).update(heartbeat_at=now - timedelta(minutes=10))
    TrainingJob.objects.filter(pk=forgotten).update(created_at=now - timedelta(days=2))
    assert services.training_jobs_reap_stale() == 2
    assert services.training_jobs_reap_stale() == 0  # idempotent
    silent_job = TrainingJob.objects.get(pk=silent)
    assert silent_job.status == "failed" and "stopped responding" in silent_job.error
    assert "not charged" in silent_job.error
    assert TrainingJob.objects.get(pk=forgotten).error.startswith("No training worker picked up")
    assert TrainingJob.objects.get(pk=healthy).status == "running"
    # The two failed jobs' holds are released; the running one still holds its estimate.
    held = Charge.objects.get(subject=f"training:{healthy}").price
    assert user_balance(user=trainer) == before - held


def test_reaper_runs_as_a_celery_task_and_is_scheduled():
    from config.celery import app
    from training.tasks import training_reap_stale_jobs

    assert training_reap_stale_jobs.name in app.tasks
    assert any(entry["task"] == "training.reap_stale_jobs" for entry in app.conf.beat_schedule.values())


def test_redelivered_job_is_restarted_once_then_failed(client, bert_version, dataset):
    job_id = client.post(JOBS, body(bert_version, dataset), format="json").json()["id"]
    assert training_worker.training_job_claim(job_id=job_id, worker="w1") == "run"
    assert training_worker.training_job_claim(job_id=job_id, worker="w2") == "busy"  # the first one is alive
    TrainingJob.objects.filter(pk=job_id).update(heartbeat_at=timezone.now() - timedelta(minutes=10))
    assert training_worker.training_job_claim(job_id=job_id, worker="w2") == "run"  # worker lost: retried
    job = TrainingJob.objects.get(pk=job_id)
    assert job.attempts == 2 and "restarting" in job.logs
    TrainingJob.objects.filter(pk=job_id).update(heartbeat_at=timezone.now() - timedelta(minutes=10))
    assert training_worker.training_job_claim(job_id=job_id, worker="w3") == "done"
    job.refresh_from_db()
    assert job.status == "failed" and "lost 2 times" in job.error
