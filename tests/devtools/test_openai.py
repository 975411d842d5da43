"""The OpenAI-compatible surface, called with the official `openai` package against a live platform."""
from decimal import Decimal

import httpx
import openai
import pytest

from inference.models import Prediction
from tests.factories import LibraryEntryFactory, PaidAppFactory
from tests.inference.conftest import ready_version

pytestmark = pytest.mark.integration


def test_models_embeddings_chat_completions_and_streaming(platform):
    client = openai.OpenAI(api_key=platform.key, base_url=f"{platform.url}/openai/v1", max_retries=0)
    ids = {model.id for model in client.models.list()}
    assert {"tiny-embedder", "tiny-writer", "tiny-sentiment", "tiny-paid"} <= ids

    # The SDK asks for base64 by default and decodes it; floats on request.
    emb = client.embeddings.create(model="tiny-embedder", input=["hello world", "how are you?"])
    assert len(emb.data) == 2 and len(emb.data[0].embedding) > 8 and emb.usage.prompt_tokens == 6
    floats = client.embeddings.create(model="tiny-embedder", input="hello world", encoding_format="float")
    assert floats.data[0].embedding == pytest.approx(emb.data[0].embedding, rel=1e-5)
    assert Prediction.objects.filter(app=platform.embedder, status="succeeded").count() == 2

    chat = client.chat.completions.create(model="tiny-writer", max_tokens=8,
                                          messages=[{"role": "user", "content": "Guard: Halt!"}])
    text = chat.choices[0].message.content
    assert chat.object == "chat.completion" and chat.choices[0].message.role == "assistant"
    assert chat.usage.prompt_tokens == 4 and chat.usage.total_tokens == 4 + chat.usage.completion_tokens
    stored = Prediction.objects.get(pk=chat.id.removeprefix("chatcmpl-"))
    assert stored.output["text"] == text and stored.input == {"text": "Guard: Halt!", "max_new_tokens": 8}

    completion = client.completions.create(model="tiny-writer", prompt="Merchant:", max_tokens=6)
    assert completion.object == "text_completion" and isinstance(completion.choices[0].text, str)

    chunks = list(client.chat.completions.create(model="tiny-writer", max_tokens=10, stream=True,
                                                 stream_options={"include_usage": True},
                                                 messages=[{"role": "user", "content": "Guard:"}]))
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert chunks[0].choices[0].delta.role == "assistant" and chunks[-1].usage.completion_tokens >= 0
    final = Prediction.objects.get(pk=chunks[0].id.removeprefix("chatcmpl-"))
    assert final.stream and streamed == final.output["text"]
    pieces = [c.choices[0].text for c in client.completions.create(model="tiny-writer", prompt="Guard:",
                                                                    max_tokens=6, stream=True)]
    assert isinstance("".join(pieces), str)

    # The raw stream ends with OpenAI's terminator.
    raw = httpx.post(f"{platform.url}/openai/v1/completions", headers={"Authorization": f"Bearer {platform.key}"},
                     json={"model": "tiny-writer", "prompt": "Guard:", "max_tokens": 4, "stream": True}, timeout=60)
    assert raw.headers["content-type"].startswith("text/event-stream")
    assert raw.text.rstrip().endswith("data: [DONE]")


def test_same_quote_and_cap_rules_and_openai_errors(platform):
    client = openai.OpenAI(api_key=platform.key, base_url=f"{platform.url}/openai/v1", max_retries=0)
    with pytest.raises(openai.NotFoundError) as missing:
        client.embeddings.create(model="no-such-app", input="x")
    assert missing.value.body["code"] == "model_not_found" and missing.value.body["type"] == "invalid_request_error"
    with pytest.raises(openai.BadRequestError) as wrong_task:
        client.embeddings.create(model="tiny-writer", input="x")
    assert wrong_task.value.body["code"] == "model_not_supported"
    with pytest.raises(openai.AuthenticationError) as unauth:
        openai.OpenAI(api_key="mm_wrong_key", base_url=f"{platform.url}/openai/v1", max_retries=0).models.list()
    assert unauth.value.body["type"] == "authentication_error"
    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.create(model="tiny-writer", messages=[])
    assert bad.value.body["param"] == "messages"

    # The same price rules as /api/v1/: max_price in the body or the X-Max-Price header, 402 above it.
    paid_writer = PaidAppFactory(slug="paid-writer", owner=platform.paid.owner, status="published")
    LibraryEntryFactory(user=platform.user, app=paid_writer)
    ready_version(paid_writer, platform.generator_zip, task="text-generation")
    with pytest.raises(openai.APIStatusError) as capped:
        client.completions.create(model="paid-writer", prompt="Guard:", max_tokens=4,
                                  extra_body={"max_price": "0.000001"})
    assert capped.value.status_code == 402 and capped.value.body["type"] == "insufficient_quota"
    assert capped.value.body["code"] == "price_changed"
    with pytest.raises(openai.APIStatusError) as header_capped:
        client.completions.create(model="paid-writer", prompt="Guard:", max_tokens=4,
                                  extra_headers={"X-Max-Price": "0.000001"})
    assert header_capped.value.status_code == 402
    ok = client.completions.with_raw_response.create(model="paid-writer", prompt="Guard:", max_tokens=4,
                                                     extra_body={"max_price": "1.00"})
    prediction = Prediction.objects.get(pk=ok.headers["x-prediction-id"])
    assert prediction.status == "succeeded" and prediction.price == Decimal(ok.headers["x-price"]) > 0
