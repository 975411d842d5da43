"""/metrics (guarded), request ids in responses and JSON logs, and a request id followed into a real worker."""
import json
import logging
import re
import time
import urllib.request
from decimal import Decimal

import pytest
from prometheus_client import REGISTRY
from rest_framework.test import APIClient

from billing.services import credit_grant
from tests.factories import LibraryEntryFactory, PaidAppFactory, UserFactory

from .conftest import ready_version
from .test_webhooks import receiver  # noqa: F401 - the local webhook receiver fixture


def _sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_metrics_need_a_token_or_an_allowed_network(client, settings, db):
    settings.METRICS_TOKEN = "s3cret-token-for-prometheus"
    settings.METRICS_ALLOWED_NETWORKS = ["10.42.0.0/16"]
    outside = client.get("/metrics", REMOTE_ADDR="203.0.113.9")
    assert outside.status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    with_token = client.get("/metrics", REMOTE_ADDR="203.0.113.9",
                            HTTP_AUTHORIZATION="Bearer s3cret-token-for-prometheus")
    assert with_token.status_code == 200
    assert with_token["Content-Type"].startswith("text/plain")
    body = with_token.content.decode()
    assert 'modelmarket_queue_depth{queue="inference-cpu"}' in body
    assert client.get("/metrics", REMOTE_ADDR="10.42.7.1").status_code == 200
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer ").status_code == 403


def test_queue_depth_counts_waiting_messages(db):
    from config.celery import app
    from config.metrics_collectors import queue_depths

    before = queue_depths()["training"]
    app.send_task("inference.tasks.run_prediction", args=["00000000-0000-0000-0000-000000000000"], queue="training")
    app.send_task("inference.tasks.run_prediction", args=["00000000-0000-0000-0000-000000000000"], queue="training",
                  priority=1)
    try:
        assert queue_depths()["training"] == before + 2
    finally:
        with app.connection_for_write() as conn:
            from kombu import Queue

            Queue("training", channel=conn.default_channel).purge()


def test_request_id_is_answered_and_kept_when_well_formed(client, db):
    given = client.get("/livez", HTTP_X_REQUEST_ID="trace-abc-12345678")
    assert given["X-Request-ID"] == "trace-abc-12345678"
    made = client.get("/livez", HTTP_X_REQUEST_ID="bad id with spaces\n")
    assert re.fullmatch(r"[0-9a-f]{32}", made["X-Request-ID"])


def test_json_log_lines_carry_the_request_id():
    from config.observability import RequestIdFilter, json_formatter, request_id_var

    record = logging.LogRecord("modelmarket.test", logging.INFO, __file__, 1, "hello %s", ("world",), None)
    token = request_id_var.set("rid-0123456789")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id_var.reset(token)
    line = json.loads(json_formatter().format(record))
    assert line["message"] == "hello world" and line["request_id"] == "rid-0123456789"
    assert line["level"] == "INFO" and line["logger"] == "modelmarket.test" and "timestamp" in line


def test_probes(client, db):
    assert client.get("/livez").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.content
    assert ready.json()["database"]["ok"] and ready.json()["broker"]["ok"]


def test_metrics_count_a_paid_prediction_its_batch_and_its_ledger_postings(eager_celery, tiny_models, artifacts_dir):
    app = PaidAppFactory(status="published")
    ready_version(app, tiny_models["classifier"], task="text-classification")
    person = UserFactory()
    LibraryEntryFactory(user=person, app=app)
    credit_grant(user=person, amount=Decimal("5.00"), memo="metrics test", granted_by=None)
    succeeded = _sample("modelmarket_predictions_total", app=app.slug, status="succeeded", hardware="cpu")
    batches = _sample("modelmarket_batch_size_count")
    postings = sum(_sample("modelmarket_ledger_postings_total", kind=kind) for kind in ("hold", "settle", "cost"))
    client = APIClient()
    client.force_authenticate(person)
    response = client.post(f"/api/v1/apps/{app.slug}/predictions/", {"input": {"text": "profits rose"}},
                           format="json", HTTP_X_REQUEST_ID="metrics-test-0001")
    assert response.status_code in (201, 202), response.content
    assert client.get(f"/api/v1/predictions/{response.json()['id']}/").json()["status"] == "succeeded"
    assert _sample("modelmarket_predictions_total", app=app.slug, status="succeeded", hardware="cpu") == succeeded + 1
    assert _sample("modelmarket_batch_size_count") == batches + 1
    assert _sample("modelmarket_predictions_admitted_total", app=app.slug, queue="inference-cpu") >= 1
    after = {s.labels["kind"]: s.value for m in REGISTRY.collect() if m.name == "modelmarket_ledger_postings"
             for s in m.samples if s.name.endswith("_total")}
    assert sum(after.values()) > postings, after
    from config.metrics_collectors import render

    (artifacts_dir / "metrics-sample.txt").write_bytes(render())  # the README's sample


@pytest.mark.integration
def test_a_request_id_follows_a_prediction_into_the_worker_and_its_webhook(
        celery_worker_factory, published_app, runner, tiny_models, receiver, monkeypatch, settings,  # noqa: F811
        artifacts_dir, tmp_path):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    monkeypatch.setenv("LOG_FORMAT", "json")
    monkeypatch.setenv("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", "True")
    monkeypatch.setenv("WORKER_METRICS_PORT", "0")
    multiproc = tmp_path / "prometheus"
    multiproc.mkdir()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(multiproc))  # the test worker is a prefork pool
    ready_version(published_app, tiny_models["classifier"], task="text-classification")
    log_files = set(artifacts_dir.glob("worker-*.log"))
    offsets = {path: path.stat().st_size for path in log_files}
    worker = celery_worker_factory(queues="inference-cpu,webhooks", concurrency=2)
    offset = offsets.get(worker.log_path, 0)  # the log is appended to across runs: read this run's lines only
    hook = receiver()
    client = APIClient()
    client.force_authenticate(runner)
    response = client.post(f"/api/v1/apps/{published_app.slug}/predictions/",
                           {"input": {"text": "profits rose"}, "webhook": hook.url}, format="json",
                           HTTP_PREFER="wait=60", HTTP_X_REQUEST_ID="req-follow-me-0042")
    assert response.status_code == 201 and response.json()["status"] == "succeeded", response.content
    assert response["X-Request-ID"] == "req-follow-me-0042"
    from inference.dispatch import dispatch_mode

    # With a Redis broker the prediction is no Celery task: the worker's dispatcher logs its completion.
    ran = "inference.dispatch" if dispatch_mode() == "redis" else "inference.tasks.run_prediction"
    expected = {(ran, "SUCCESS"), ("inference.tasks.deliver_webhook", "SUCCESS")}
    deadline = time.monotonic() + 60
    tagged: list[dict] = []
    tasks: set = set()
    while time.monotonic() < deadline:  # the task's SUCCESS line comes after the "delivered" one it logs
        text = worker.log_path.read_bytes()[offset:].decode(errors="replace")
        lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
        tagged = [line for line in lines if line.get("request_id") == "req-follow-me-0042"]
        tasks = {(line.get("task"), line.get("state")) for line in tagged}
        if expected <= tasks and any(line["message"].endswith(" delivered") for line in tagged):
            break
        time.sleep(0.2)
    assert expected <= tasks, tagged
    assert any(line["message"].endswith(" delivered") and line["prediction_id"] == response.json()["id"]
               for line in tagged), tagged
    assert len(hook.requests) == 1
    # The worker serves its own metrics: this prediction, its batch and the webhook are counted there.
    port = next(line["metrics_port"] for line in lines if "metrics_port" in line)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:  # noqa: S310
        body = answer.read().decode()
    assert (f'modelmarket_predictions_total{{app="{published_app.slug}",hardware="cpu",status="succeeded"}} 1.0'
            in body), body[:3000]
    assert "modelmarket_batch_size_count 1.0" in body
    assert 'modelmarket_webhook_deliveries_total{outcome="delivered"} 1.0' in body
    assert "modelmarket_worker_heartbeats_total" in body
    (artifacts_dir / "worker-metrics-sample.txt").write_text(body)
