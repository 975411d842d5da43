"""`store: false` on the OpenAI-compatible surface (issue 14) works as on /api/v1/: the answer carries the input
and output once, then the stored prediction holds neither and later reads show `data_removed`."""
import json

import pytest
from django.db import connection

from inference.models import Prediction
from tests.conftest import key_client
from tests.factories import AppFactory, LibraryEntryFactory

from .conftest import ready_version


def _raw(prediction_id) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute("SELECT input, output, data_removed FROM inference_prediction WHERE id = %s",
                       [prediction_id])
        return cursor.fetchone()


def _erased(client, prediction_id) -> None:
    """Nothing readable is left: not in the database, not through the prediction API."""
    assert _raw(prediction_id) == (None, None, True)
    later = client.get(f"/api/v1/predictions/{prediction_id}/").json()
    assert later["input"] is None and later["output"] is None and later["data_removed"] is True


@pytest.fixture
def writer(tiny_models, runner, published_app):
    ready_version(published_app, tiny_models["generator"], task="text-generation")
    return published_app


def test_chat_and_completions_answer_once_with_store_false(writer, runner, eager_celery):
    client = key_client(runner)
    chat = client.post("/openai/v1/chat/completions", {
        "model": writer.slug, "max_tokens": 6, "store": False,
        "messages": [{"role": "user", "content": "Guard: Halt!"}]}, format="json")
    assert chat.status_code == 200, chat.content
    text = chat.json()["choices"][0]["message"]["content"]
    assert isinstance(text, str) and chat.json()["usage"]["prompt_tokens"] == 4
    prediction = Prediction.objects.get(pk=chat["X-Prediction-Id"])
    assert prediction.store is False and prediction.status == "succeeded"
    _erased(client, prediction.pk)

    completion = client.post("/openai/v1/completions", {
        "model": writer.slug, "prompt": "Merchant:", "max_tokens": 4, "store": False}, format="json")
    assert completion.status_code == 200, completion.content
    assert isinstance(completion.json()["choices"][0]["text"], str)
    _erased(client, completion["X-Prediction-Id"])

    # Without `store` (or with true) the prediction keeps its data for the app's retention.
    kept = client.post("/openai/v1/completions", {"model": writer.slug, "prompt": "Merchant:", "max_tokens": 4},
                       format="json")
    assert _raw(kept["X-Prediction-Id"])[2] is False
    stored = Prediction.objects.get(pk=kept["X-Prediction-Id"])
    assert stored.store and stored.input == {"text": "Merchant:", "max_new_tokens": 4}
    assert client.get(f"/api/v1/predictions/{stored.pk}/").json()["output"] == stored.output


def test_a_streamed_answer_is_the_only_one(writer, runner, eager_celery):
    client = key_client(runner)
    response = client.post("/openai/v1/chat/completions", {
        "model": writer.slug, "max_tokens": 6, "store": False, "stream": True,
        "messages": [{"role": "user", "content": "Guard:"}]}, format="json")
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()
    assert body.rstrip().endswith("data: [DONE]")
    chunks = [json.loads(line[6:]) for line in body.splitlines() if line.startswith("data: {")]
    streamed = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c.get("choices"))
    assert chunks[-1]["choices"][0]["finish_reason"] in ("stop", "length")
    prediction_id = response["X-Prediction-Id"]
    assert Prediction.objects.get(pk=prediction_id).status == "succeeded" and isinstance(streamed, str)
    _erased(client, prediction_id)


def test_embeddings_answer_once_and_store_must_be_a_boolean(tiny_models, runner, eager_celery):
    embedder = AppFactory(status="published")
    LibraryEntryFactory(user=runner, app=embedder)
    ready_version(embedder, tiny_models["embedder"], task="feature-extraction")
    client = key_client(runner)
    bad = client.post("/openai/v1/embeddings", {"model": embedder.slug, "input": "hi", "store": "no"},
                      format="json")
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "store"
    assert not Prediction.objects.filter(app=embedder).exists()
    response = client.post("/openai/v1/embeddings", {
        "model": embedder.slug, "input": ["hello world", "a secret"], "store": False,
        "encoding_format": "float"}, format="json")
    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert len(data) == 2 and len(data[0]["embedding"]) > 8
    _erased(client, response["X-Prediction-Id"])
