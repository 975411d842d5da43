"""Throttling per API key: over the rate the API answers 429 with Retry-After; other keys are unaffected."""
import pytest
from django.core.cache import cache

from tests.conftest import key_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_per_minute(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {"api_key": "3/min"}}
    cache.clear()  # counters from earlier tests (or runs) with recycled ids must not count here
    yield
    cache.clear()


def test_over_the_rate_a_key_gets_429_with_retry_after(user, three_per_minute):
    client = key_client(user, scopes=["read"])
    for _ in range(3):
        assert client.get("/api/v1/me/").status_code == 200
    response = client.get("/api/v1/me/")
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    body = response.json()["error"]
    assert body["code"] == "throttled" and body["message"] and body["fields"] == {}


def test_each_key_has_its_own_budget(user, three_per_minute):
    first, second = key_client(user, scopes=["read"]), key_client(user, scopes=["read"])
    for _ in range(3):
        first.get("/api/v1/me/")
    assert first.get("/api/v1/me/").status_code == 429
    assert second.get("/api/v1/me/").status_code == 200


def test_anonymous_callers_are_throttled_by_address(api_client, three_per_minute):
    for _ in range(3):
        assert api_client.get("/api/v1/categories/").status_code == 200
    response = api_client.get("/api/v1/categories/")
    assert response.status_code == 429 and "Retry-After" in response


def test_a_forged_x_forwarded_for_does_not_reset_the_anonymous_budget(api_client, three_per_minute):
    """NUM_PROXIES defaults to 0: the header is anyone's to write, so it is ignored."""
    for number in range(3):
        assert api_client.get("/api/v1/categories/", HTTP_X_FORWARDED_FOR=f"203.0.113.{number}").status_code == 200
    assert api_client.get("/api/v1/categories/", HTTP_X_FORWARDED_FOR="203.0.113.99").status_code == 429


def test_behind_one_proxy_the_address_it_saw_is_used(api_client, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1,
                               "DEFAULT_THROTTLE_RATES": {"api_key": "3/min"}}
    cache.clear()
    for _ in range(3):
        assert api_client.get("/api/v1/categories/", HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.7").status_code == 200
    assert api_client.get("/api/v1/categories/", HTTP_X_FORWARDED_FOR="198.51.100.7").status_code == 429
    # Another client behind the same proxy has its own budget, whatever it writes to the left.
    assert api_client.get("/api/v1/categories/", HTTP_X_FORWARDED_FOR="198.51.100.7, 198.51.100.8").status_code == 200
    cache.clear()
def test_a_key_with_its_own_rate_uses_it_and_the_keys_page_shows_limit_and_usage(user, three_per_minute, client):
    from django.core.exceptions import ValidationError

    generous, strict = key_client(user, scopes=["read"]), key_client(user, scopes=["read"])
    generous.api_key.rate_limit = "5/min"
    generous.api_key.save(update_fields=["rate_limit"])
    for _ in range(5):
        assert generous.get("/api/v1/me/").status_code == 200
    assert generous.get("/api/v1/me/").status_code == 429
    for _ in range(3):
        assert strict.get("/api/v1/me/").status_code == 200
    assert strict.get("/api/v1/me/").status_code == 429  # the default (3/min here) still applies to the other key
    client.force_login(user)
    from django.urls import reverse

    page = client.get(reverse("accounts:api_keys")).content.decode()
    assert 'data-rate="5/min"' in page and 'data-rate="3/min"' in page
    assert "5 used in this window" in page and "3 used in this window" in page
    generous.api_key.rate_limit = "lots"
    with pytest.raises(ValidationError):
        generous.api_key.full_clean()


def test_moderators_set_a_keys_rate_in_the_admin(user, client):
    from accounts.models import ApiKey
    from tests.factories import UserFactory

    key = key_client(user, scopes=["read"]).api_key
    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    url = f"/admin/accounts/apikey/{key.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200 and 'name="rate_limit"' in page.content.decode()
    assert client.post(url, {"rate_limit": "1200/min"}).status_code == 302
    assert ApiKey.objects.get(pk=key.pk).rate_limit == "1200/min"
    assert client.post(url, {"rate_limit": "fast"}).status_code == 200  # the form shows the error
    assert ApiKey.objects.get(pk=key.pk).rate_limit == "1200/min"


def test_the_budget_is_exact_gcra_in_redis(three_per_minute):
    """On Redis: a burst of `limit`, then one call per period/limit; refused calls are not counted; Retry-After
    is exactly when the next call fits (never more than the period)."""
    from django.core.cache import caches

    from accounts.throttling import _gcra_hit

    store = caches["default"]
    start = 1000.0
    for second in range(3):
        assert _gcra_hit(store, "t:gcra", limit=3, seconds=60, now=start + second) == (True, None)
    assert _gcra_hit(store, "t:gcra", limit=3, seconds=60, now=start + 2.5) == (False, 18.0)  # fits at start + 20
    assert _gcra_hit(store, "t:gcra", limit=3, seconds=60, now=start + 19.5) == (False, 1.0)  # (rounded up)
    assert _gcra_hit(store, "t:gcra", limit=3, seconds=60, now=start + 20) == (True, None)
    assert not _gcra_hit(store, "t:gcra", limit=3, seconds=60, now=start + 21)[0]
    assert all(_gcra_hit(store, "t:gcra", limit=3, seconds=60, now=start + 200)[0] for _ in range(3))  # rested


@pytest.mark.django_db(transaction=True)
def test_concurrent_calls_never_overrun_the_budget(three_per_minute):
    """DRF's list-based throttle lost calls to read-modify-write races; GCRA is one atomic script."""
    from concurrent.futures import ThreadPoolExecutor

    from django.core.cache import caches

    from accounts.throttling import _gcra_hit

    store = caches["default"]
    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(lambda _: _gcra_hit(store, "t:race", limit=25, seconds=3600)[0], range(200)))
    assert answers.count(True) == 25
