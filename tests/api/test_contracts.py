"""API contracts that need real volume or real requests to prove: the pagination cap, the upload pre-check, CSRF."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from marketplace.models import AppStatus, AppVersion
from tests.conftest import key_client
from tests.factories import DEFAULT_PASSWORD, AppFactory, DeveloperFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_page_size_is_capped_at_100_with_more_than_100_rows(api_client):
    AppFactory.create_batch(130, status=AppStatus.PUBLISHED, ready=True)  # the store lists runnable apps only
    body = api_client.get("/api/v1/apps/", {"page_size": 500}).json()
    assert body["count"] == 130
    assert len(body["results"]) == 100
    assert body["next"] is not None
    rest = api_client.get(body["next"]).json()
    assert len(rest["results"]) == 30
    assert not {a["slug"] for a in body["results"]} & {a["slug"] for a in rest["results"]}


def test_the_413_pre_check_refuses_an_upload_larger_than_the_limit_before_reading_it(settings):
    settings.MAX_ARTIFACT_BYTES = 1024
    app = AppFactory()
    client = key_client(app.owner)
    big = SimpleUploadedFile("model.keras", b"\0" * (1024 + 200 * 1024), content_type="application/octet-stream")
    response = client.post(f"/api/v1/apps/{app.slug}/versions/",
                           {"artifact": big, "version": "1.0.0", "task": "text-classification",
                            "framework": "keras"}, format="multipart")
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "too_large"
    assert error["message"].startswith("The upload is")  # the pre-check's message, not the service's
    assert not AppVersion.objects.exists()


def test_an_upload_just_over_the_limit_is_refused_by_the_service(settings):
    """Under the pre-check's margin, the service's exact size check answers 413 too."""
    settings.MAX_ARTIFACT_BYTES = 1024
    app = AppFactory()
    client = key_client(app.owner)
    over = SimpleUploadedFile("model.keras", b"\0" * 2048, content_type="application/octet-stream")
    response = client.post(f"/api/v1/apps/{app.slug}/versions/",
                           {"artifact": over, "version": "1.0.0", "task": "text-classification",
                            "framework": "keras"}, format="multipart")
    assert response.status_code == 413
    assert response.json()["error"]["message"].startswith("The file is")
    assert not AppVersion.objects.exists()


def test_a_session_authenticated_api_post_without_csrf_token_is_refused():
    user = UserFactory()
    browser = Client(enforce_csrf_checks=True)
    assert browser.login(email=user.email, password=DEFAULT_PASSWORD)
    response = browser.post("/api/v1/keys/", {"name": "sneaky", "scopes": ["read"]}, content_type="application/json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["error"]["message"]
    assert not user.api_keys.exists()
    # The same request with the token from a page the user loaded passes.
    browser.get("/settings/keys/")
    token = browser.cookies["csrftoken"].value
    response = browser.post("/api/v1/keys/", {"name": "mine", "scopes": ["read"]}, content_type="application/json",
                            HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 201, response.content
    assert user.api_keys.count() == 1


def test_a_key_authenticated_post_needs_no_csrf_token():
    client = key_client(DeveloperFactory(), scopes=("read", "predict", "publish"))
    response = client.post("/api/v1/keys/", {"name": "from a script", "scopes": ["read"]}, format="json")
    assert response.status_code == 201
