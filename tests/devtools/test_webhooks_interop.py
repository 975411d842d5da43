"""modelmarket.webhooks and the `standardwebhooks` library accept each other's signatures, and the platform's."""
import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import modelmarket
import pytest
import standardwebhooks
from modelmarket import webhooks

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
BODY = json.dumps({"id": "p1", "status": "succeeded", "output": {"text": "héllo"}})


def test_library_signs_client_verifies_and_back():
    now = int(time.time())
    signed = standardwebhooks.Webhook(SECRET).sign("msg_1", _dt(now), BODY)
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(now), "webhook-signature": signed}
    assert webhooks.verify(SECRET, BODY, headers) == json.loads(BODY)
    assert webhooks.verify(SECRET, BODY.encode(), {k.title(): v for k, v in headers.items()})["id"] == "p1"

    ours = {"webhook-id": "msg_2", "webhook-timestamp": str(now),
            "webhook-signature": webhooks.sign(SECRET, "msg_2", now, BODY)}
    assert standardwebhooks.Webhook(SECRET).verify(BODY, ours) == json.loads(BODY)


def test_verification_rejects_tampering_old_timestamps_and_other_secrets():
    now = int(time.time())
    good = {"webhook-id": "m", "webhook-timestamp": str(now), "webhook-signature": webhooks.sign(SECRET, "m", now,
                                                                                                  BODY)}
    with pytest.raises(modelmarket.WebhookVerificationError):
        webhooks.verify(SECRET, BODY.replace("p1", "p2"), good)
    with pytest.raises(modelmarket.WebhookVerificationError):
        webhooks.verify("whsec_" + base64.b64encode(b"x" * 32).decode(), BODY, good)
    old = {**good, "webhook-timestamp": str(now - 600),
           "webhook-signature": webhooks.sign(SECRET, "m", now - 600, BODY)}
    with pytest.raises(modelmarket.WebhookVerificationError):
        webhooks.verify(SECRET, BODY, old)
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(SECRET).verify(BODY, old)
    with pytest.raises(modelmarket.WebhookVerificationError):
        webhooks.verify(SECRET, BODY, {"webhook-id": "m"})
    # Several signatures (key rotation): any matching v1 passes.
    rotated = {**good, "webhook-signature": "v1,bm9wZQ== " + good["webhook-signature"]}
    assert webhooks.verify(SECRET, BODY, rotated)["id"] == "p1"


def _dt(ts):
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, tz=UTC)


@pytest.mark.integration
def test_the_platforms_webhooks_verify_with_both(platform):
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers["content-length"]))
            received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = modelmarket.Client(api_key=platform.key, base_url=platform.url)
        secret = client.request("GET", "/api/v1/webhooks/secret/")["secret"]
        pred = client.predictions.create("tiny-sentiment", input={"text": "profits"}, wait=True,
                                         webhook=f"http://127.0.0.1:{server.server_address[1]}/hook")
        deadline = time.monotonic() + 60
        while not received and time.monotonic() < deadline:
            time.sleep(0.1)
        assert received, "no webhook arrived"
        headers, body = received[0]
        payload = webhooks.verify(secret, body, headers)
        assert payload["id"] == pred.id and payload["status"] == "succeeded"
        assert standardwebhooks.Webhook(secret).verify(body, headers)["id"] == pred.id
    finally:
        server.shutdown()
