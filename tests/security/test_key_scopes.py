"""Key scopes: grants need the moderate scope, the webhook secret needs predict, keys never gain power."""
from decimal import Decimal

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import ApiKey
from billing.models import CreditGrant
from tests.conftest import key_client

pytestmark = pytest.mark.django_db


def test_a_moderators_everyday_key_cannot_grant_credits(moderator, user):
    everyday = key_client(moderator, scopes=["read", "predict", "publish"])
    response = everyday.post("/api/v1/billing/grants/", {"user": user.email, "amount": "5", "memo": "promo"})
    assert response.status_code == 403
    moderating = key_client(moderator, scopes=["moderate"])
    response = moderating.post("/api/v1/billing/grants/", {"user": user.email, "amount": "5", "memo": "promo"})
    assert response.status_code == 201, response.content
    assert CreditGrant.objects.get().user == user


def test_only_moderators_create_moderate_keys(user, moderator):
    client = APIClient()
    client.force_authenticate(user)
    response = client.post("/api/v1/keys/", {"name": "sneaky", "scopes": ["moderate"]}, format="json")
    assert response.status_code == 400 and "scopes" in response.json()["error"]["fields"]
    client.force_login(user)
    page = client.get(reverse("accounts:api_keys"))
    assert page.status_code == 200 and 'value="moderate"' not in page.content.decode()
    client.force_authenticate(moderator)
    assert client.post("/api/v1/keys/", {"name": "mod", "scopes": ["moderate"]}, format="json").status_code == 201
    client.force_login(moderator)
    assert 'value="moderate"' in client.get(reverse("accounts:api_keys")).content.decode()


@pytest.mark.parametrize("via", ["api", "session"])
def test_nobody_grants_credits_to_themselves(moderator, via):
    if via == "api":
        client = key_client(moderator, scopes=["moderate"])
    else:
        client = APIClient()
        client.force_authenticate(moderator)
    response = client.post("/api/v1/billing/grants/", {"user": moderator.email, "amount": "5", "memo": "me"})
    assert response.status_code == 403
    assert not CreditGrant.objects.exists()


def test_the_webhook_secret_needs_more_than_read(user):
    reader = key_client(user, scopes=["read"])
    assert reader.get("/api/v1/webhooks/secret/").status_code == 403
    assert reader.post("/api/v1/webhooks/secret/").status_code == 403
    caller = key_client(user, scopes=["predict"])
    response = caller.get("/api/v1/webhooks/secret/")
    assert response.status_code == 200 and response.json()["secret"].startswith("whsec_")


def test_a_capped_key_cannot_mint_an_uncapped_key(user):
    from accounts.services import api_key_create

    capped = api_key_create(user=user, name="capped", scopes=["read", "predict", "publish"], spend_cap=Decimal("5"))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {capped.raw_key}")
    uncapped = client.post("/api/v1/keys/", {"name": "child", "scopes": ["predict"]}, format="json")
    assert uncapped.status_code == 201, uncapped.content
    assert ApiKey.objects.get(name="child").spend_cap == Decimal("5")
    higher = client.post("/api/v1/keys/", {"name": "child2", "scopes": ["predict"], "spend_cap": "50"},
                         format="json")
    assert higher.status_code == 201 and ApiKey.objects.get(name="child2").spend_cap == Decimal("5")
    lower = client.post("/api/v1/keys/", {"name": "child3", "scopes": ["predict"], "spend_cap": "1"}, format="json")
    assert lower.status_code == 201 and ApiKey.objects.get(name="child3").spend_cap == Decimal("1")
    # Scopes the parent lacks are still refused.
    reader = key_client(user, scopes=["read", "publish"])
    assert reader.post("/api/v1/keys/", {"name": "x", "scopes": ["predict"]}, format="json").status_code == 403


def test_keys_per_user_are_capped(user, settings):
    settings.MAX_API_KEYS_PER_USER = 3
    client = APIClient()
    client.force_authenticate(user)
    for number in range(3):
        assert client.post("/api/v1/keys/", {"name": f"k{number}", "scopes": ["read"]},
                           format="json").status_code == 201
    response = client.post("/api/v1/keys/", {"name": "one too many", "scopes": ["read"]}, format="json")
    assert response.status_code == 400, response.content
    assert ApiKey.objects.filter(user=user).count() == 3
    # Revoking one makes room again.
    key = ApiKey.objects.filter(user=user).first()
    assert client.delete(f"/api/v1/keys/{key.pk}/").status_code == 204
    assert client.post("/api/v1/keys/", {"name": "again", "scopes": ["read"]}, format="json").status_code == 201
