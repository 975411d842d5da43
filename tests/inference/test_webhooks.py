"""Webhooks: Standard Webhooks signatures checked by a real local receiver, retries with back-off, redelivery."""
import base64
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from rest_framework.test import APIClient

from inference.models import DeliveryStatus, WebhookDelivery
from inference.services import webhook_secret_for
from tests.factories import UserFactory

from .conftest import ready_version


class Receiver:
    """An HTTP server on 127.0.0.1 that fails the first `failures` requests, then answers 204."""

    def __init__(self, failures: int = 0):
        self.failures = failures
        self.requests: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.requests.append({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
                if len(receiver.requests) <= receiver.failures:
                    self.send_response(500)
                    self.end_headers()
                    self.wfile.write(b"try later")
                else:
                    self.send_response(204)
                    self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/modelmarket"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture
def receiver():
    servers = []

    def make(failures: int = 0) -> Receiver:
        servers.append(Receiver(failures))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


@pytest.fixture
def fast_retries(settings):
    settings.WEBHOOK_RETRY_DELAYS = [0, 0, 0]


def _verify(secret: str, headers: dict, body: bytes) -> bool:
    """What a receiver does, written from the Standard Webhooks spec rather than our code."""
    key = base64.b64decode(secret.split("_", 1)[1])
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(part.split(",", 1)[1] == expected for part in headers["webhook-signature"].split())


def _run(app, user, webhook_url, events=None):
    client = APIClient()
    client.force_authenticate(user)
    payload = {"input": {"text": "profits rose"}, "webhook": webhook_url}
    if events:
        payload["webhook_events_filter"] = events
    response = client.post(f"/api/v1/apps/{app.slug}/predictions/", payload, format="json", HTTP_PREFER="wait=10")
    assert response.status_code == 201, response.content
    return client, response.json()


def test_completed_webhook_is_signed_and_carries_the_prediction(published_app, runner, tiny_models, eager_celery,
                                                                 receiver, fast_retries):
    ready_version(published_app, tiny_models["classifier"], task="text-classification")
    hook = receiver()
    _client, prediction = _run(published_app, runner, hook.url, events=["start", "completed"])
    assert len(hook.requests) == 2
    secret = webhook_secret_for(user=runner).secret
    for request in hook.requests:
        assert _verify(secret, request["headers"], request["body"])
        assert request["headers"]["webhook-id"].startswith("msg_")
    completed = json.loads(hook.requests[-1]["body"])
    assert completed["id"] == prediction["id"] and completed["status"] == "succeeded"
    assert completed["output"] == prediction["output"]
    # A tampered body does not verify.
    assert not _verify(secret, hook.requests[-1]["headers"], hook.requests[-1]["body"] + b" ")


def test_failed_deliveries_are_retried_until_they_succeed(published_app, runner, tiny_models, eager_celery, receiver,
                                                          fast_retries):
    ready_version(published_app, tiny_models["classifier"], task="text-classification")
    hook = receiver(failures=2)
    client, prediction = _run(published_app, runner, hook.url)
    delivery = WebhookDelivery.objects.get(prediction_id=prediction["id"])
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempts == 3
    assert delivery.response_status == 204
    # Every retry is the same message: receivers de-duplicate on webhook-id.
    assert len({request["headers"]["webhook-id"] for request in hook.requests}) == 1
    log = client.get(f"/api/v1/webhook-deliveries/?prediction={prediction['id']}").json()
    assert log["count"] == 1 and log["results"][0]["attempts"] == 3


def test_deliveries_give_up_after_the_last_retry_and_can_be_redelivered(published_app, runner, tiny_models,
                                                                        eager_celery, receiver, fast_retries):
    ready_version(published_app, tiny_models["classifier"], task="text-classification")
    hook = receiver(failures=100)
    client, prediction = _run(published_app, runner, hook.url)
    delivery = WebhookDelivery.objects.get(prediction_id=prediction["id"])
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 4
    assert delivery.response_status == 500 and delivery.response_body == "try later"

    hook.failures = 0
    stranger = APIClient()
    stranger.force_authenticate(UserFactory())
    assert stranger.post(f"/api/v1/webhook-deliveries/{delivery.pk}/redeliver/").status_code == 404
    assert stranger.get("/api/v1/webhook-deliveries/").json()["count"] == 0
    again = client.post(f"/api/v1/webhook-deliveries/{delivery.pk}/redeliver/")
    assert again.status_code == 201
    copy = WebhookDelivery.objects.get(pk=again.json()["id"])
    # Standard Webhooks: a resend is the same message, so it keeps its webhook-id.
    assert copy.status == DeliveryStatus.SUCCEEDED and copy.message_id == delivery.message_id
    assert hook.requests[-1]["headers"]["webhook-id"] == delivery.message_id
    assert len({request["headers"]["webhook-id"] for request in hook.requests}) == 1


def test_unreachable_receivers_are_logged_not_raised(published_app, runner, tiny_models, eager_celery, fast_retries):
    ready_version(published_app, tiny_models["classifier"], task="text-classification")
    _client, prediction = _run(published_app, runner, "http://127.0.0.1:9/closed")
    delivery = WebhookDelivery.objects.get(prediction_id=prediction["id"])
    assert delivery.status == DeliveryStatus.FAILED and delivery.last_error and delivery.response_status is None


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/hook", "http://10.1.2.3/hook", "http://169.254.169.254/latest",
                                 "http://[::1]/hook", "ftp://93.184.216.34/hook"])
def test_production_refuses_webhooks_to_internal_addresses(published_app, runner, tiny_models, settings, url):
    """SSRF guard: with private addresses disallowed (the production default) such URLs are a 400."""
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    ready_version(published_app, tiny_models["classifier"], task="text-classification")
    client = APIClient()
    client.force_authenticate(runner)
    response = client.post(f"/api/v1/apps/{published_app.slug}/predictions/",
                           {"input": {"text": "profits rose"}, "webhook": url}, format="json")
    assert response.status_code == 400, response.content
    assert "webhook" in response.json()["error"]["fields"]
    assert not WebhookDelivery.objects.exists()


def test_a_public_address_passes_the_webhook_guard(settings):
    from inference.services import webhook_url_problem

    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    assert webhook_url_problem("https://93.184.216.34/hook") is None
    assert webhook_url_problem("http://127.0.0.1/hook") is not None


def test_a_delivery_whose_host_turned_internal_fails_without_a_request(published_app, runner, tiny_models,
                                                                      eager_celery, receiver, settings):
    """DNS rebinding: the guard runs again at delivery time, and nothing is sent."""
    ready_version(published_app, tiny_models["classifier"], task="text-classification")
    hook = receiver()
    _run(published_app, runner, hook.url)  # allowed while private addresses are allowed (development)
    delivery = WebhookDelivery.objects.get()
    assert len(hook.requests) == 1
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    from inference.services import webhook_attempt, webhook_redeliver

    copy = webhook_redeliver(delivery=delivery, actor=runner)
    assert webhook_attempt(delivery_id=copy.pk) is True
    copy.refresh_from_db()
    assert copy.status == DeliveryStatus.FAILED and "internal" in copy.last_error
    assert len(hook.requests) == 1


class Redirector:
    """A local server that answers every POST with a redirect to `location` (and a page of 'secrets')."""

    def __init__(self, location: str, status: int = 302):
        self.requests = 0
        redirector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                redirector.requests += 1
                self.send_response(status)
                self.send_header("Location", location)
                self.end_headers()
                self.wfile.write(b"internal-secret " * 500)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirects_are_never_followed(published_app, runner, tiny_models, eager_celery, receiver, fast_retries,
                                      status):
    """A 3xx is a failed attempt: the target of the redirect never hears from us, the page is not stored."""
    ready_version(published_app, tiny_models["classifier"], task="text-classification")
    internal = receiver()  # stands for an internal service the redirect points at
    redirector = Redirector(internal.url, status=status)
    try:
        _run(published_app, runner, redirector.url)
    finally:
        redirector.close()
    delivery = WebhookDelivery.objects.get()
    assert internal.requests == []
    assert redirector.requests == 4  # the first attempt and three retries, each a failure
    assert delivery.status == DeliveryStatus.FAILED and delivery.response_status == status
    assert "redirect" in delivery.last_error
    assert len(delivery.response_body) <= 64 and "\n" not in delivery.response_body


def test_a_long_answer_is_stored_as_a_short_excerpt(published_app, runner, tiny_models, eager_celery, fast_retries):
    ready_version(published_app, tiny_models["classifier"], task="text-classification")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers["content-length"]))
            self.send_response(500)
            self.end_headers()
            self.wfile.write(b"line one\r\nline two\x00\x1b[31m" + b"x" * 5000)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        _run(published_app, runner, f"http://127.0.0.1:{server.server_address[1]}/hook")
    finally:
        server.shutdown()
    delivery = WebhookDelivery.objects.get()
    assert delivery.response_status == 500
    assert delivery.response_body.startswith("line one line two")
    assert len(delivery.response_body) <= 64 and delivery.response_body.isprintable()


def test_a_delivery_connects_to_the_address_it_checked(published_app, runner, tiny_models, eager_celery, receiver,
                                                       monkeypatch):
    """The name is resolved once per attempt; a later answer (DNS rebinding) is never used to connect."""
    import socket as socket_module

    ready_version(published_app, tiny_models["classifier"], task="text-classification")
    hook = receiver()
    port = hook.server.server_address[1]
    real_getaddrinfo = socket_module.getaddrinfo
    lookups = []

    def rebinding_getaddrinfo(host, *args, **kwargs):
        if host != "hooks.example":
            return real_getaddrinfo(host, *args, **kwargs)
        lookups.append(host)
        # First answer: our receiver. Any later answer: an address where nothing listens.
        address = "127.0.0.1" if len(lookups) == 2 else "127.0.0.9"
        return [(socket_module.AF_INET, socket_module.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket_module, "getaddrinfo", rebinding_getaddrinfo)
    # Lookup 1 is the check at creation; lookup 2 is the delivery's own, which it must connect to.
    _run(published_app, runner, f"http://hooks.example:{port}/hook")
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.SUCCEEDED, delivery.last_error
    assert len(lookups) == 2
    assert hook.requests[0]["headers"]["host"] == f"hooks.example:{port}"


def test_the_guard_checks_every_answer_and_pins_the_first(monkeypatch):
    import socket as socket_module

    from inference.webhook_http import WebhookRefused, webhook_target_resolve

    answers = {"mixed.example": ["93.184.216.34", "10.0.0.5"], "public.example": ["93.184.216.34", "93.184.216.35"]}

    def fake_getaddrinfo(host, port, *args, **kwargs):
        return [(socket_module.AF_INET, socket_module.SOCK_STREAM, 6, "", (ip, port)) for ip in answers[host]]

    monkeypatch.setattr(socket_module, "getaddrinfo", fake_getaddrinfo)
    with pytest.raises(WebhookRefused):
        webhook_target_resolve("https://mixed.example/hook", allow_private=False)
    target = webhook_target_resolve("https://public.example/h?x=1", allow_private=False)
    assert (target.address, target.host, target.port, target.path) == ("93.184.216.34", "public.example", 443,
                                                                        "/h?x=1")
