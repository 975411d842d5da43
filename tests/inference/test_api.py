"""The versions and predictions API per shared/API.md: statuses, shapes, errors, idempotency, cancel."""
import base64
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from inference.models import Prediction, PredictionStatus
from marketplace.models import App, AppStatus
from tests.conftest import key_client
from tests.factories import AppFactory, LibraryEntryFactory, UserFactory

from .conftest import ready_version

pytestmark = pytest.mark.django_db


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    body = response.json()["error"]
    assert set(body) >= {"code", "message", "fields"} and body["message"]
    if code:
        assert body["code"] == code, body
    return body


# --- versions --------------------------------------------------------------------------------------------

def test_owner_uploads_a_version_and_sees_its_checksum(published_app, tiny_models):
    client = key_client(published_app.owner, scopes=("read", "publish"))
    data = tiny_models["classifier"].read_bytes()
    response = client.post(f"/api/v1/apps/{published_app.slug}/versions/", {
        "artifact": SimpleUploadedFile("model.zip", data), "version": "1.2.0", "task": "text-classification",
        "framework": "transformers", "hardware": "cpu", "changelog": "first"}, format="multipart")
    assert response.status_code == 201, response.content
    body = response.json()
    import hashlib

    assert body["sha256"] == hashlib.sha256(data).hexdigest() and body["size"] == len(data)
    assert body["status"] == "uploaded" and body["error"] is None
    listed = client.get(f"/api/v1/apps/{published_app.slug}/versions/").json()
    assert [v["version"] for v in listed] == ["1.2.0"]
    detail = client.get(f"/api/v1/apps/{published_app.slug}/versions/1.2.0/").json()
    assert set(detail) >= {"version", "task", "framework", "hardware", "status", "error", "sha256", "size",
                           "input_schema", "output_schema", "metrics"}


def test_upload_errors(published_app, tiny_models, settings):
    client = _client(published_app.owner)
    url = f"/api/v1/apps/{published_app.slug}/versions/"
    body = _error(client.post(url, {"version": "1.0.0", "task": "nope", "framework": "transformers"},
                              format="multipart"), 400, "invalid")
    assert "artifact" in body["fields"] and "task" in body["fields"]
    bad_semver = client.post(url, {"artifact": SimpleUploadedFile("m.zip", b"PK"), "version": "one",
                                   "task": "text-classification", "framework": "transformers"}, format="multipart")
    assert "version" in _error(bad_semver, 400)["fields"]
    settings.MAX_ARTIFACT_BYTES = 1000
    too_big = client.post(url, {"artifact": SimpleUploadedFile("m.zip", b"x" * 5000), "version": "1.0.0",
                                "task": "text-classification", "framework": "transformers"}, format="multipart")
    _error(too_big, 413, "too_large")


def test_only_the_owner_uploads_and_sees_unready_versions(published_app, tiny_models, runner):
    ready_version(published_app, tiny_models["classifier"], task="text-classification", version="1.0.0")
    from inference.services import version_upload

    from .conftest import upload_file

    version_upload(app=published_app, actor=published_app.owner, artifact=upload_file(tiny_models["classifier"]),
                   version="2.0.0", task="text-classification", framework="transformers")
    stranger = _client(runner)
    url = f"/api/v1/apps/{published_app.slug}/versions/"
    assert [v["version"] for v in stranger.get(url).json()] == ["1.0.0"]
    response = stranger.post(url, {"artifact": SimpleUploadedFile("m.zip", b"PK"), "version": "3.0.0",
                                   "task": "text-classification", "framework": "transformers"}, format="multipart")
    _error(response, 404)
    no_scope = key_client(published_app.owner, scopes=("read", "predict"))
    _error(no_scope.post(url, {}, format="multipart"), 403)


# --- predictions -----------------------------------------------------------------------------------------

@pytest.fixture
def classifier_app(published_app, tiny_models):
    ready_version(published_app, tiny_models["classifier"], task="text-classification")
    return published_app


def _predict(client, app, payload, **headers):
    return client.post(f"/api/v1/apps/{app.slug}/predictions/", payload, format="json", **headers)


def test_predict_and_wait_answers_201_with_the_contract_fields(classifier_app, runner, eager_celery):
    client = key_client(runner, scopes=("read", "predict"))
    response = _predict(client, classifier_app, {"input": {"text": "the market rose"}}, HTTP_PREFER="wait=10")
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) >= {"id", "app", "version", "status", "input", "output", "error", "logs", "price", "currency",
                         "metrics", "created_at", "started_at", "completed_at", "urls"}
    assert body["status"] == "succeeded" and body["app"] == classifier_app.slug
    assert body["output"]["labels"][0]["label"] in {"negative", "positive"}
    assert set(body["metrics"]) == {"queue_ms", "load_ms", "predict_ms", "batch_size"}
    assert body["metrics"]["batch_size"] == 1
    assert body["price"] == "0.000000" and body["currency"] == "usd"
    assert set(body["urls"]) == {"get", "cancel", "stream"}
    assert client.get(f"/api/v1/predictions/{body['id']}/").json()["status"] == "succeeded"
    classifier_app.refresh_from_db()
    assert classifier_app.runs_count == 1
    prediction = Prediction.objects.get(pk=body["id"])
    assert prediction.device == "cpu" and prediction.compute_seconds > 0

    # The model is warm now: no load time.
    again = _predict(client, classifier_app, {"input": {"texts": ["a", "b"]}}, HTTP_PREFER="wait=10").json()
    assert again["metrics"]["load_ms"] == 0
    assert len(again["output"]["results"]) == 2


def test_without_wait_the_answer_is_202_and_queued(classifier_app, runner):
    response = _predict(_client(runner), classifier_app, {"input": {"text": "hello"}})
    assert response.status_code == 202
    assert response.json()["status"] == "queued"


@pytest.mark.parametrize("payload,field", [
    ({"input": {}}, None),
    ({"input": {"text": ""}}, "input.text"),
    ({"input": {"text": 12}}, "input.text"),
    ({"input": {"text": "a", "texts": ["b"]}}, None),
    ({"input": {"texts": []}}, "input.texts"),
    ({"input": {"text": "a", "colour": "red"}}, None),
    ({"input": "just a string"}, "input"),
    ({}, "input"),
    ({"input": {"text": "a"}, "webhook": "not a url"}, "webhook"),
    ({"input": {"text": "a"}, "max_price": "-1"}, "max_price"),
    ({"input": {"text": "nul \u0000 inside"}}, "input.text"),
])
def test_bad_inputs_are_400_with_the_field(classifier_app, runner, payload, field):
    body = _error(_predict(_client(runner), classifier_app, payload), 400, "invalid")
    if field:
        assert field in body["fields"], body
    assert not Prediction.objects.exists()


def test_oversize_inputs_are_413(classifier_app, runner):
    client = _client(runner)
    _error(_predict(client, classifier_app, {"input": {"text": "x" * 5000}}), 413, "too_large")
    _error(_predict(client, classifier_app, {"input": {"texts": ["x"] * 65}}), 413, "too_large")


def test_image_inputs_must_be_real_images(published_app, tiny_keras, runner):
    ready_version(published_app, tiny_keras["shapes"], task="image-classification", framework="keras",
                  labels=["circle", "square", "triangle"])
    client = _client(runner)
    body = _error(_predict(client, published_app, {"input": {"image": base64.b64encode(b"GIF89a...").decode()}}),
                  400)
    assert "input.image" in body["fields"]
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (20, 20), "red").save(buffer, format="PNG")
    ok = _predict(client, published_app, {"input": {"image": base64.b64encode(buffer.getvalue()).decode()}})
    assert ok.status_code == 202


def test_who_may_run(classifier_app, runner):
    outsider = UserFactory()
    _error(_predict(_client(outsider), classifier_app, {"input": {"text": "a"}}), 403)
    _error(_predict(key_client(runner, scopes=("read",)), classifier_app, {"input": {"text": "a"}}), 403)
    _error(_predict(APIClient(), classifier_app, {"input": {"text": "a"}}), 401)
    owner = _predict(_client(classifier_app.owner), classifier_app, {"input": {"text": "a"}})
    assert owner.status_code == 202
    App.objects.filter(pk=classifier_app.pk).update(status=AppStatus.SUSPENDED)
    _error(_predict(_client(runner), classifier_app, {"input": {"text": "a"}}), 404)


def test_unknown_or_unready_versions(classifier_app, runner):
    client = _client(runner)
    body = _error(_predict(client, classifier_app, {"input": {"text": "a"}, "version": "9.9.9"}), 400)
    assert "version" in body["fields"]
    empty = AppFactory()
    LibraryEntryFactory(user=runner, app=empty)
    _error(_predict(client, empty, {"input": {"text": "a"}}), 503, "no_ready_version")


def test_gpu_versions_without_gpu_workers(published_app, tiny_models, runner, settings):
    ready_version(published_app, tiny_models["classifier"], task="text-classification", hardware="gpu")
    client = _client(runner)
    settings.ALLOW_GPU_FALLBACK_TO_CPU = False
    body = _error(_predict(client, published_app, {"input": {"text": "a"}}), 503, "no_gpu_worker")
    assert "GPU" in body["message"]
    settings.ALLOW_GPU_FALLBACK_TO_CPU = True
    response = _predict(client, published_app, {"input": {"text": "a"}})
    assert response.status_code == 202
    assert Prediction.objects.get(pk=response.json()["id"]).hardware == "cpu"


def test_idempotency_key_returns_the_same_prediction(classifier_app, runner):
    client = _client(runner)
    first = _predict(client, classifier_app, {"input": {"text": "a"}}, HTTP_IDEMPOTENCY_KEY="order-42")
    second = _predict(client, classifier_app, {"input": {"text": "a"}}, HTTP_IDEMPOTENCY_KEY="order-42")
    assert first.json()["id"] == second.json()["id"]
    assert second["Idempotent-Replayed"] == "true"
    assert Prediction.objects.count() == 1
    _error(_predict(client, classifier_app, {"input": {"text": "b"}}, HTTP_IDEMPOTENCY_KEY="order-42"), 409,
           "idempotency_key_reused")
    # Keys are per caller: someone else's same key is a different prediction.
    other = UserFactory()
    LibraryEntryFactory(user=other, app=classifier_app)
    third = _predict(_client(other), classifier_app, {"input": {"text": "a"}}, HTTP_IDEMPOTENCY_KEY="order-42")
    assert third.json()["id"] != first.json()["id"]


def test_cancel_and_privacy(classifier_app, runner):
    client = _client(runner)
    created = _predict(client, classifier_app, {"input": {"text": "a"}}).json()
    outsider = _client(UserFactory())
    _error(outsider.get(f"/api/v1/predictions/{created['id']}/"), 404)
    _error(outsider.post(f"/api/v1/predictions/{created['id']}/cancel/"), 404)
    canceled = client.post(f"/api/v1/predictions/{created['id']}/cancel/")
    assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
    again = client.post(f"/api/v1/predictions/{created['id']}/cancel/")
    assert again.json()["status"] == "canceled"
    # A canceled prediction is never run afterwards, even when its task arrives.
    from inference.worker.execute import prediction_execute

    assert prediction_execute(prediction_id=created["id"]) is None
    assert Prediction.objects.get(pk=created["id"]).status == PredictionStatus.CANCELED


def test_my_predictions_list_is_mine_only(classifier_app, runner):
    client = _client(runner)
    for text in ("a", "b"):
        _predict(client, classifier_app, {"input": {"text": text}})
    other = UserFactory()
    LibraryEntryFactory(user=other, app=classifier_app)
    _predict(_client(other), classifier_app, {"input": {"text": "c"}})
    body = client.get("/api/v1/predictions/").json()
    assert body["count"] == 2 and {p["input"]["text"] for p in body["results"]} == {"a", "b"}
    assert set(body) == {"count", "next", "previous", "results"}


def test_a_model_error_is_a_failed_prediction_not_a_500(published_app, tiny_models, runner, eager_celery):
    version = ready_version(published_app, tiny_models["classifier"], task="text-classification")
    # The stored artifact disappears from under the worker: the run fails with a readable reason.
    version.artifact.storage.delete(version.artifact.name)
    version.sha256 = "0" * 64
    version.save(update_fields=["sha256"])
    response = _predict(_client(runner), published_app, {"input": {"text": "a"}}, HTTP_PREFER="wait=5")
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "failed" and body["error"].startswith("The model failed")
    published_app.refresh_from_db()
    assert published_app.runs_count == 0


def test_streaming_generation_sends_output_events_then_done(published_app, tiny_models, runner, eager_celery):
    ready_version(published_app, tiny_models["generator"], task="text-generation")
    client = _client(runner)
    created = _predict(client, published_app, {"input": {"text": "Guard:", "max_new_tokens": 6}, "stream": True},
                       HTTP_PREFER="wait=10").json()
    assert created["status"] == "succeeded"
    response = client.get(f"/api/v1/predictions/{created['id']}/stream/", HTTP_ACCEPT="text/event-stream")
    assert response.status_code == 200 and response["Content-Type"] == "text/event-stream"
    text = b"".join(response.streaming_content).decode()
    events = [block for block in text.split("\n\n") if block.startswith("event:")]
    assert events[-1].startswith("event: done")
    outputs = [block for block in events if block.startswith("event: output")]
    assert outputs
    import json

    streamed = "".join(json.loads(block.split("data: ", 1)[1]) for block in outputs)
    assert streamed == created["output"]["text"]
    assert "retry: 1000" in text and all("\nid: " in block for block in events)
    # Reconnecting with Last-Event-ID resumes after what the client already has.
    seen = 2
    again = client.get(f"/api/v1/predictions/{created['id']}/stream/", HTTP_ACCEPT="text/event-stream",
                       HTTP_LAST_EVENT_ID=str(seen))
    rest = [block for block in b"".join(again.streaming_content).decode().split("\n\n")
            if block.startswith("event: output")]
    assert "".join(json.loads(block.split("data: ", 1)[1]) for block in rest) == created["output"]["text"][seen:]


def test_openapi_schema_describes_the_inference_api(client):
    schema = client.get("/api/schema/?format=json").json()
    paths = schema["paths"]
    for path in ("/api/v1/apps/{slug}/versions/", "/api/v1/apps/{slug}/predictions/", "/api/v1/predictions/",
                 "/api/v1/predictions/{prediction_id}/cancel/", "/api/v1/predictions/{prediction_id}/stream/"):
        assert path in paths, path


def test_keras_image_classifier_answers_top_labels(published_app, tiny_keras, runner, eager_celery):
    ready_version(published_app, tiny_keras["shapes"], task="image-classification", framework="keras",
                  labels=["circle", "square", "triangle"])
    import random

    from inference.runtimes.demo_models import shape_image

    buffer = io.BytesIO()
    shape_image("triangle", random.Random(3), size=40).save(buffer, format="JPEG")
    response = _predict(_client(runner), published_app,
                        {"input": {"image": base64.b64encode(buffer.getvalue()).decode()}}, HTTP_PREFER="wait=20")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "succeeded", body["error"]
    assert [item["label"] for item in body["output"]["labels"]] and len(body["output"]["labels"]) == 3


def test_gpu_versions_go_to_a_live_gpu_worker(published_app, tiny_models, runner, settings):
    from datetime import timedelta

    from django.utils import timezone

    from inference.models import WorkerHeartbeat

    ready_version(published_app, tiny_models["classifier"], task="text-classification", hardware="gpu")
    settings.ALLOW_GPU_FALLBACK_TO_CPU = False
    beat = WorkerHeartbeat.objects.create(hostname="gpu0@box", queues=["inference-gpu"], devices=["cuda:0"],
                                          last_seen=timezone.now())
    response = _predict(_client(runner), published_app, {"input": {"text": "a"}})
    assert response.status_code == 202
    assert Prediction.objects.get(pk=response.json()["id"]).hardware == "gpu"
    # A worker that stopped beating no longer counts.
    WorkerHeartbeat.objects.filter(pk=beat.pk).update(last_seen=timezone.now() - timedelta(minutes=5))
    _error(_predict(_client(runner), published_app, {"input": {"text": "b"}}), 503, "no_gpu_worker")


def test_open_waits_and_streams_are_capped_per_user(classifier_app, runner, settings):
    """Past the cap a wait or a stream answers 429 with Retry-After; a finished one gives its slot back."""
    from django.core.cache import cache

    settings.MAX_WAITS_PER_USER = settings.MAX_STREAMS_PER_USER = 1
    client = _client(runner)
    cache.set(f"mm:open-waits:{runner.pk}", 1, timeout=60)  # another request of this user is waiting now
    response = _predict(client, classifier_app, {"input": {"text": "hi"}}, HTTP_PREFER="wait=1")
    body = _error(response, 429, "too_many_open")
    assert body["message"] and response["Retry-After"] == "1"
    cache.set(f"mm:open-waits:{runner.pk}", 0, timeout=60)
    waited = _predict(client, classifier_app, {"input": {"text": "hi"}}, HTTP_PREFER="wait=1")
    assert waited.status_code in (201, 202) and cache.get(f"mm:open-waits:{runner.pk}") == 0
    prediction_id = waited.json()["id"]
    assert client.post(f"/api/v1/predictions/{prediction_id}/cancel/").status_code == 200  # streams end at once
    first = client.get(f"/api/v1/predictions/{prediction_id}/stream/", HTTP_ACCEPT="text/event-stream")
    assert first.status_code == 200
    second = client.get(f"/api/v1/predictions/{prediction_id}/stream/", HTTP_ACCEPT="text/event-stream")
    assert second.status_code == 429
    assert b"event: done" in b"".join(first.streaming_content)  # finished and closed: its slot is given back
    third = client.get(f"/api/v1/predictions/{prediction_id}/stream/", HTTP_ACCEPT="text/event-stream")
    assert third.status_code == 200 and b"event: done" in b"".join(third.streaming_content)
    assert cache.get(f"mm:open-streams:{runner.pk}") == 0
