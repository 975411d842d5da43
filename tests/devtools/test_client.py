"""The Python client (clients/python) against a live platform with a real worker: SDK.md end to end."""
import asyncio
import json
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import modelmarket
import pytest

from inference.models import Prediction

pytestmark = pytest.mark.integration


def test_run_create_wait_list_and_typed_errors(platform):
    client = modelmarket.Client(api_key=platform.key, base_url=platform.url)
    labels = client.run("tiny-sentiment", input={"text": "profits rose"})["labels"]
    assert {item["label"] for item in labels} == {"negative", "positive"}
    assert len(client.run("tiny-embedder", input={"text": "hello"})["embedding"]) > 8

    pred = client.predictions.create("tiny-sentiment", input={"text": "losses widened"}, wait=False)
    assert isinstance(pred, modelmarket.Prediction) and pred.id
    pred.wait(timeout=60)
    assert pred.status == "succeeded" and pred.output["labels"] and pred.metrics["predict_ms"] is not None
    assert pred.reload().status == "succeeded" and client.predictions.get(pred.id).output == pred.output

    # The same Idempotency-Key answers the same prediction, never a second run.
    first = client.predictions.create("tiny-sentiment", input={"text": "once"}, idempotency_key="k-123")
    again = client.predictions.create("tiny-sentiment", input={"text": "once"}, idempotency_key="k-123")
    assert first.id == again.id and Prediction.objects.filter(idempotency_key="k-123").count() == 1

    # predictions.list walks every page (20 per page by default).
    for n in range(19):
        client.predictions.create("tiny-sentiment", input={"text": f"row {n}"})
    listed = list(client.predictions.list())
    assert len(listed) == Prediction.objects.filter(user=platform.user).count() >= 23
    assert len({p.id for p in listed}) == len(listed)

    with pytest.raises(modelmarket.InvalidRequestError) as bad:
        client.run("tiny-sentiment", input={"txt": "typo"})
    assert bad.value.status == 400 and bad.value.code == "invalid" and bad.value.fields
    with pytest.raises(modelmarket.NotFoundError) as missing:
        client.apps.get("no-such-app")
    assert missing.value.status == 404 and missing.value.code == "not_found"
    with pytest.raises(modelmarket.AuthenticationError) as unauth:
        modelmarket.Client(api_key="mm_bogus_secret", base_url=platform.url).apps.quote("tiny-paid")
    assert unauth.value.status == 401 and unauth.value.message


def test_auto_quote_max_price_and_balance(platform):
    client = modelmarket.Client(api_key=platform.key, base_url=platform.url)
    before = client.billing.balance()
    assert isinstance(before, modelmarket.Balance) and Decimal(before.balance) == Decimal("5.00")
    quote = client.apps.quote("tiny-paid")
    assert isinstance(quote, modelmarket.Quote) and quote.id and Decimal(quote.price) >= Decimal("0.01")

    pred = client.predictions.create("tiny-paid", input={"text": "profits"}, wait=True)  # auto quote
    assert pred.status == "succeeded"
    stored = Prediction.objects.get(pk=pred.id)
    assert stored.quote_id and Decimal(pred.price) == stored.price > 0
    after = client.billing.balance()
    assert Decimal(after.balance) == Decimal(before.balance) - Decimal(pred.price)

    with pytest.raises(modelmarket.PaymentRequiredError) as too_cheap:
        client.run("tiny-paid", input={"text": "profits"}, max_price="0.000001")
    assert too_cheap.value.status == 402 and too_cheap.value.code


def test_stream_yields_the_generated_text(platform):
    client = modelmarket.Client(api_key=platform.key, base_url=platform.url)
    pieces = list(client.stream("tiny-writer", input={"text": "Guard:", "max_new_tokens": 12}))
    assert pieces and all(isinstance(piece, str) for piece in pieces)
    latest = next(client.predictions.list(app="tiny-writer"))
    assert latest.status == "succeeded" and "".join(pieces) == latest.output["text"]


def test_async_client_has_the_same_surface(platform):
    async def main():
        async with modelmarket.AsyncClient(api_key=platform.key, base_url=platform.url) as client:
            output = await client.run("tiny-sentiment", input={"text": "profits"})
            pred = await client.predictions.create("tiny-sentiment", input={"text": "more"})
            await pred.wait(timeout=60)
            pieces = [piece async for piece in client.stream("tiny-writer", input={"text": "Hi", "max_new_tokens": 6})]
            apps = [app.slug async for app in client.apps.list()]
            balance = await client.billing.balance()
            with pytest.raises(modelmarket.NotFoundError):
                await client.predictions.get("00000000-0000-0000-0000-000000000000")
            return output, pred, pieces, apps, balance

    output, pred, pieces, apps, balance = asyncio.run(main())
    assert output["labels"] and isinstance(pred, modelmarket.AsyncPrediction) and pred.status == "succeeded"
    assert pieces and {"tiny-sentiment", "tiny-writer", "tiny-paid"} <= set(apps)
    assert balance.currency == "usd"


def test_publish_upload_with_progress_then_submit(platform, tiny_models, capsys):
    from tests.factories import DeveloperFactory

    developer = DeveloperFactory()
    from accounts.services import api_key_create

    key = api_key_create(user=developer, name="publish", scopes=["read", "publish"]).raw_key
    client = modelmarket.Client(api_key=key, base_url=platform.url)
    app = client.apps.create(name="Client Published", tagline="Made by the SDK", description="From a test.",
                             category="games", pricing={"model": "free"})
    assert isinstance(app, modelmarket.App) and app.status == "draft"
    version = client.apps.upload_version(app.slug, tiny_models["classifier"], version="1.0.0",
                                         task="text-classification", framework="transformers", progress=True)
    assert version.version == "1.0.0" and version.status in ("uploaded", "validating", "ready")
    assert "Uploading classifier.zip" in capsys.readouterr().err
    deadline = time.monotonic() + 120
    while client.apps.get_version(app.slug, "1.0.0").status != "ready" and time.monotonic() < deadline:
        time.sleep(0.5)
    assert client.apps.submit(app.slug).status == "in_review"


class _FlakyServer:
    """A real HTTP server that answers 429 (Retry-After: 1), then 503, then 200: what the retry policy is for."""

    def __init__(self):
        self.hits: list[float] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                outer.hits.append(time.monotonic())
                n = len(outer.hits)
                status, headers = (429, {"Retry-After": "1"}) if n == 1 else ((503, {}) if n == 2 else (200, {}))
                body = json.dumps({"error": {"code": "throttled", "message": "slow down", "fields": {}}}
                                  if status != 200 else {"price": "0.010000", "currency": "usd",
                                                         "quote_id": "q1", "expires_at": None}).encode()
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_retries_honour_retry_after_then_back_off():
    flaky = _FlakyServer()
    try:
        quote = modelmarket.Client(api_key="mm_x_y", base_url=flaky.url).apps.quote("anything")
        assert quote.id == "q1" and len(flaky.hits) == 3
        assert flaky.hits[1] - flaky.hits[0] >= 1.0  # waited the server's Retry-After
        flaky.hits.clear()
        with pytest.raises(modelmarket.RateLimitError) as throttled:
            modelmarket.Client(api_key="mm_x_y", base_url=flaky.url, max_retries=0).apps.quote("anything")
        assert throttled.value.retry_after == 1.0 and throttled.value.status == 429
    finally:
        flaky.server.shutdown()


def test_throttled_by_the_platform_raises_rate_limit_error(platform, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
                                                          "api_key": "2/min"}}
    client = modelmarket.Client(api_key=platform.key, base_url=platform.url, max_retries=0)
    with pytest.raises(modelmarket.RateLimitError) as throttled:
        for _ in range(5):
            client.apps.get("tiny-sentiment")
    assert throttled.value.retry_after and throttled.value.retry_after > 0
