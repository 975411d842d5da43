"""Console upload form (the marketplace's version form, extended), submit requirements, prediction pages."""
import pytest
from django.test import Client
from django.urls import reverse

from inference.models import Prediction, WebhookDelivery
from inference.services import prediction_create
from marketplace.models import AppStatus, AppVersion
from marketplace.services import app_submit_requirements
from tests.factories import AppFactory, UserFactory

from .conftest import ready_version, upload_file

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_console_upload_form_stores_the_artifact_and_shows_errors_inline(tiny_models, tmp_path, settings):
    app = AppFactory(status=AppStatus.DRAFT)
    client = _client(app.owner)
    url = reverse("marketplace:console_version_new", kwargs={"slug": app.slug})
    page = client.get(url).content.decode()
    assert 'data-artifact-upload="1"' in page and "inference-upload.js" in page and "upload-progress" in page
    response = client.post(url, {"version": "1.0.0", "changelog": "first", "task": "text-classification",
                                 "framework": "transformers", "hardware": "cpu",
                                 "artifact": upload_file(tiny_models["classifier"])})
    assert response.status_code == 302, response.content.decode()[:2000]
    version = AppVersion.objects.get(app=app)
    assert version.status == "uploaded" and len(version.sha256) == 64 and version.artifact
    assert "still being checked" in app_submit_requirements(app)

    pickled = tmp_path / "model.pt"
    pickled.write_bytes(b"\x80\x04")
    response = client.post(url, {"version": "1.1.0", "task": "text-classification", "framework": "transformers",
                                 "hardware": "cpu", "artifact": upload_file(pickled)})
    assert response.status_code == 400 and "pickle-based" in response.content.decode()
    settings.MAX_ARTIFACT_BYTES = 100
    response = client.post(url, {"version": "1.2.0", "task": "text-classification", "framework": "transformers",
                                 "hardware": "cpu", "artifact": upload_file(tiny_models["classifier"])})
    assert response.status_code == 400 and "the limit is 100" in response.content.decode()


def test_submit_needs_a_ready_version(tiny_models):
    app = AppFactory(status=AppStatus.DRAFT)
    assert "at least one version" in app_submit_requirements(app)
    ready_version(app, tiny_models["classifier"], task="text-classification")
    assert app_submit_requirements(app) is None


def test_prediction_pages_show_my_runs_and_deliveries_only(published_app, runner, tiny_models):
    ready_version(published_app, tiny_models["classifier"], task="text-classification")
    prediction, _ = prediction_create(user=runner, app=published_app, input={"text": "hello"},
                                      webhook="http://127.0.0.1:9/hook")
    delivery = WebhookDelivery.objects.create(prediction=prediction, event="completed", url=prediction.webhook,
                                              message_id="msg_test", status="failed", attempts=4,
                                              response_status=500)
    client = _client(runner)
    listing = client.get(reverse("inference:prediction_list")).content.decode()
    assert published_app.name in listing
    detail = client.get(reverse("inference:prediction_detail", kwargs={"prediction_id": prediction.pk}))
    html = detail.content.decode()
    assert detail.status_code == 200 and "msg_test" in html and "Redeliver" in html and "HTTP 500" in html
    stranger = _client(UserFactory())
    assert stranger.get(reverse("inference:prediction_detail", kwargs={"prediction_id": prediction.pk})
                        ).status_code == 404
    assert stranger.post(reverse("inference:delivery_redeliver", kwargs={"delivery_id": delivery.pk})
                         ).status_code == 404
    response = client.post(reverse("inference:delivery_redeliver", kwargs={"delivery_id": delivery.pk}))
    # Redelivery resends the same message (same webhook-id), with fresh attempts.
    assert response.status_code == 302 and WebhookDelivery.objects.filter(prediction=prediction).count() == 1
    delivery.refresh_from_db()
    assert delivery.message_id == "msg_test" and delivery.status == "pending" and delivery.attempts == 0
    response = client.post(reverse("inference:prediction_cancel", kwargs={"prediction_id": prediction.pk}))
    assert response.status_code == 302 and Prediction.objects.get(pk=prediction.pk).status == "canceled"
