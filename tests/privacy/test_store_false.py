"""`store: false`: the answer is delivered once (response, stream or webhook), then nothing is readable."""
import json

import pytest
from rest_framework.test import APIClient

from inference.api import prediction_events
from inference.models import Prediction, PredictionStatus, WebhookDelivery
from privacy.services import prediction_forget

from .conftest import finished, raw_columns

pytestmark = pytest.mark.django_db


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _nothing_readable(prediction: Prediction) -> None:
    prediction.refresh_from_db()
    assert prediction.data_removed and prediction.input is None and prediction.output is None
    assert raw_columns(prediction) == (None, None)
    assert not WebhookDelivery.objects.filter(prediction=prediction).exclude(response_body="").exists()


def test_the_api_takes_store_false_and_the_first_finished_answer_is_the_only_one(app, caller):
    client = _client(caller)
    created = client.post(f"/api/v1/apps/{app.slug}/predictions/", {"input": {"text": "tell no one"},
                                                                     "store": False}, format="json")
    assert created.status_code == 202, created.content
    body = created.json()
    assert body["store"] is False and body["input"] == {"text": "tell no one"} and body["data_removed"] is False
    prediction = Prediction.objects.get(pk=body["id"])
    assert not prediction.store
    # The worker finishes it (as `_finish_batch` does: an ORM write of the output).
    Prediction.objects.filter(pk=prediction.pk).update(status=PredictionStatus.SUCCEEDED, output={"labels": ["x"]})

    first = client.get(f"/api/v1/predictions/{prediction.pk}/").json()
    assert first["output"] == {"labels": ["x"]} and first["input"] == {"text": "tell no one"}
    _nothing_readable(prediction)
    again = client.get(f"/api/v1/predictions/{prediction.pk}/").json()
    assert again["input"] is None and again["output"] is None and again["data_removed"] is True
    listed = client.get("/api/v1/predictions/").json()["results"]
    assert listed[0]["output"] is None and listed[0]["data_removed"] is True


def test_store_true_is_the_default_and_reads_do_not_erase(app, caller):
    prediction = finished(app, caller)
    client = _client(caller)
    for _ in range(2):
        assert client.get(f"/api/v1/predictions/{prediction.pk}/").json()["output"] == prediction.output
    prediction.refresh_from_db()
    assert prediction.store and not prediction.data_removed


def test_the_list_answer_delivers_once_too(app, caller):
    prediction = finished(app, caller, store=False)
    client = _client(caller)
    assert client.get("/api/v1/predictions/").json()["results"][0]["output"] == prediction.output
    _nothing_readable(prediction)


def test_the_stream_delivers_once(app, caller):
    prediction = finished(app, caller, store=False, output={"text": "streamed words"}, stream=True)
    events = b"".join(prediction_events(prediction.pk, poll=0.001)).decode()
    assert "streamed words" in events and "event: done" in events
    done = json.loads(events.split("event: done\n")[1].split("data: ", 1)[1].split("\n")[0])
    assert done["output"] == {"text": "streamed words"}
    _nothing_readable(prediction)
    later = b"".join(prediction_events(prediction.pk, poll=0.001)).decode()
    assert "streamed words" not in later and '"data_removed": true' in later


def test_the_prediction_page_delivers_once(client, app, caller):
    prediction = finished(app, caller, store=False, output={"text": "page answer"})
    client.force_login(caller)
    assert "page answer" in client.get(f"/predictions/{prediction.pk}/").content.decode()
    _nothing_readable(prediction)
    html = client.get(f"/predictions/{prediction.pk}/").content.decode()
    assert "page answer" not in html and 'id="data-removed"' in html


def test_with_a_webhook_the_webhook_carries_the_answer_then_it_is_erased(app, caller, eager,
                                                                       django_capture_on_commit_callbacks):
    from inference.services import webhook_event_queue
    from tests.inference.test_webhooks import Receiver

    receiver = Receiver()
    try:
        prediction = finished(app, caller, store=False, output={"labels": ["hooked"]}, webhook=receiver.url,
                              webhook_events_filter=["completed"])
        # Before the delivery ends, API reads do not show the answer: the webhook is its one delivery.
        early = _client(caller).get(f"/api/v1/predictions/{prediction.pk}/").json()
        assert early["output"] is None and early["data_removed"] is False
        with django_capture_on_commit_callbacks(execute=True):
            webhook_event_queue(prediction_id=str(prediction.pk), event="completed")
    finally:
        receiver.close()
    assert len(receiver.requests) == 1
    assert json.loads(receiver.requests[0]["body"])["output"] == {"labels": ["hooked"]}
    _nothing_readable(prediction)


def test_an_idempotent_replay_of_an_erased_prediction_is_not_a_conflict(app, caller):
    client = _client(caller)
    request = {"input": {"text": "once only"}, "store": False}
    first = client.post(f"/api/v1/apps/{app.slug}/predictions/", request, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    prediction_forget(prediction_id=first.json()["id"])
    again = client.post(f"/api/v1/apps/{app.slug}/predictions/", request, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert again.status_code in (201, 202) and again.json()["id"] == first.json()["id"]
    assert again["Idempotent-Replayed"] == "true"
