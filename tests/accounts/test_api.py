"""The accounts part of shared/API.md: /me/, becoming a developer, API keys, scopes and error shapes."""
import re
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from accounts.models import ApiKey
from accounts.services import api_key_revoke
from tests.conftest import key_client
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert {"code", "message", "fields"} <= set(body["error"])
    assert body["error"]["message"]
    if code:
        assert body["error"]["code"] == code
    return body["error"]


def test_me_answers_the_contract_fields_with_money_as_a_string(user):
    response = key_client(user, scopes=["read"]).get("/api/v1/me/")
    assert response.status_code == 200
    body = response.json()
    assert {"id", "email", "username", "is_developer", "balance", "currency"} <= set(body)
    assert body["id"] == user.pk and body["email"] == user.email and body["is_developer"] is False
    assert isinstance(body["balance"], str) and re.fullmatch(r"-?\d+\.\d{6}", body["balance"])
    assert body["currency"] == "usd"


def test_no_or_bad_credentials_answer_401_in_the_error_shape(api_client):
    error = assert_error(api_client.get("/api/v1/me/"), 401, "not_authenticated")
    assert error["fields"] == {}
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Bearer mm_deadbeef_" + "0" * 48)
    assert_error(bad.get("/api/v1/me/"), 401, "authentication_failed")
    malformed = APIClient()
    malformed.credentials(HTTP_AUTHORIZATION="Bearer two parts")
    assert_error(malformed.get("/api/v1/me/"), 401)


def test_revoked_key_gets_401(user):
    client = key_client(user)
    assert client.get("/api/v1/me/").status_code == 200
    api_key_revoke(api_key=client.api_key)
    assert_error(client.get("/api/v1/me/"), 401, "authentication_failed")


def test_become_developer_needs_accept_terms_true(auth_client):
    error = assert_error(auth_client.post("/api/v1/me/developer/", {}, format="json"), 400, "invalid")
    assert "accept_terms" in error["fields"]
    error = assert_error(auth_client.post("/api/v1/me/developer/", {"accept_terms": False}, format="json"), 400)
    assert "accept_terms" in error["fields"]
    response = auth_client.post("/api/v1/me/developer/", {"accept_terms": True}, format="json")
    assert response.status_code == 200
    assert response.json()["is_developer"] is True
    auth_client.user.refresh_from_db()
    assert auth_client.user.is_developer


def test_key_lifecycle_the_full_key_is_shown_only_once(auth_client):
    response = auth_client.post("/api/v1/keys/", {"name": "laptop", "scopes": ["read", "predict"]}, format="json")
    assert response.status_code == 201
    created = response.json()
    assert {"id", "name", "prefix", "scopes", "key"} <= set(created)
    assert created["key"].startswith(f"mm_{created['prefix']}_")
    assert sorted(created["scopes"]) == ["predict", "read"]

    listing = auth_client.get("/api/v1/keys/").json()
    assert listing["count"] == 1
    assert listing["results"][0]["id"] == created["id"]
    assert "key" not in listing["results"][0] and "hashed_key" not in listing["results"][0]

    # The new key works, until it is revoked.
    key_user = APIClient()
    key_user.credentials(HTTP_AUTHORIZATION=f"Bearer {created['key']}")
    assert key_user.get("/api/v1/me/").status_code == 200
    assert auth_client.delete(f"/api/v1/keys/{created['id']}/").status_code == 204
    assert key_user.get("/api/v1/me/").status_code == 401
    assert auth_client.get("/api/v1/keys/").json()["count"] == 0
    assert_error(auth_client.delete(f"/api/v1/keys/{created['id']}/"), 404, "not_found")


def test_create_key_bad_input_answers_400_with_fields(auth_client):
    error = assert_error(auth_client.post("/api/v1/keys/", {"scopes": ["root"]}, format="json"), 400, "invalid")
    assert set(error["fields"]) == {"name", "scopes"}
    error = assert_error(auth_client.post("/api/v1/keys/", {"name": "x", "scopes": []}, format="json"), 400)
    assert "scopes" in error["fields"]


def test_other_peoples_keys_answer_404_and_stay_active(auth_client):
    other = key_client(UserFactory())
    assert_error(auth_client.delete(f"/api/v1/keys/{other.api_key.pk}/"), 404, "not_found")
    assert ApiKey.objects.get(pk=other.api_key.pk).is_active
    assert other.api_key.pk not in [k["id"] for k in auth_client.get("/api/v1/keys/").json()["results"]]


def test_scopes_reads_need_read_and_key_management_needs_publish(user):
    predict_only = key_client(user, scopes=["predict"])
    assert_error(predict_only.get("/api/v1/me/"), 403, "permission_denied")
    read_only = key_client(user, scopes=["read"])
    assert read_only.get("/api/v1/me/").status_code == 200
    assert_error(read_only.post("/api/v1/keys/", {"name": "x", "scopes": ["read"]}, format="json"), 403)
    assert_error(read_only.post("/api/v1/me/developer/", {"accept_terms": True}, format="json"), 403)


def test_a_key_cannot_mint_a_key_with_more_scopes_than_itself(user):
    publisher = key_client(user, scopes=["read", "publish"])
    assert_error(publisher.post("/api/v1/keys/", {"name": "x", "scopes": ["predict"]}, format="json"), 403)
    response = publisher.post("/api/v1/keys/", {"name": "x", "scopes": ["read"]}, format="json")
    assert response.status_code == 201


def test_session_users_have_every_scope(user):
    client = APIClient()
    client.force_login(user)
    assert client.get("/api/v1/me/").status_code == 200
    response = client.post("/api/v1/keys/", {"name": "web", "scopes": ["read", "predict", "publish"]}, format="json")
    assert response.status_code == 201


def test_a_key_can_be_created_with_a_monthly_spend_cap(auth_client):
    response = auth_client.post("/api/v1/keys/", {"name": "ci", "scopes": ["predict"], "spend_cap": "2.500000"},
                                format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["spend_cap"] == "2.500000"
    assert ApiKey.objects.get(pk=response.json()["id"]).spend_cap == Decimal("2.5")

    bad = auth_client.post("/api/v1/keys/", {"name": "ci", "scopes": ["predict"], "spend_cap": "-1"}, format="json")
    assert bad.status_code == 400
    assert "spend_cap" in bad.json()["error"]["fields"]


def test_the_keys_page_sets_a_spend_cap(client, user):
    client.force_login(user)
    response = client.post("/settings/keys/", {"name": "server", "scopes": ["read", "predict"], "spend_cap": "10"})
    assert response.status_code == 302  # post/redirect/get
    key = ApiKey.objects.get(user=user, name="server")
    assert key.spend_cap == Decimal("10")
    assert "$10.00" in client.get("/settings/keys/").content.decode()
