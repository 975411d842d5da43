"""Whatever a client sends, the API answers in the error shape and never with a 500."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from marketplace.models import AppStatus
from tests.factories import AppFactory, DeveloperFactory, LibraryEntryFactory

pytestmark = pytest.mark.django_db

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=6,
)
pricing = st.fixed_dictionaries({}, optional={
    key: json_values for key in ("model", "base_price", "k", "window_seconds", "max_price", "free_calls_per_month",
                                 "purchase_price")
})
app_payload = st.fixed_dictionaries({}, optional={
    "name": json_values | st.text(max_size=100), "tagline": json_values, "description": json_values,
    "category": st.sampled_from(["games", "finance", "nope"]) | json_values, "tags": json_values,
    "pricing": pricing | json_values,
})
NO_FIXTURE_CHECK = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _assert_clean(response) -> None:
    assert response.status_code < 500, response.content
    if response.status_code >= 400:
        assert {"code", "message", "fields"} <= set(response.json()["error"])


@pytest.fixture
def developer_client():
    client = APIClient()
    client.force_authenticate(DeveloperFactory())
    return client


@NO_FIXTURE_CHECK
@given(payload=app_payload)
def test_create_app_never_fails_with_500(developer_client, payload):
    _assert_clean(developer_client.post("/api/v1/apps/", payload, format="json"))


@pytest.fixture
def draft():
    return AppFactory(status=AppStatus.DRAFT)


@pytest.fixture
def library_entry():
    return LibraryEntryFactory()


@NO_FIXTURE_CHECK
@given(payload=app_payload)
def test_patch_app_never_fails_with_500(draft, payload):
    client = APIClient()
    client.force_authenticate(draft.owner)
    _assert_clean(client.patch(f"/api/v1/apps/{draft.slug}/", payload, format="json"))


@NO_FIXTURE_CHECK
@given(payload=st.dictionaries(st.sampled_from(["rating", "text", "decision", "reason"]), json_values, max_size=4),
       query=st.dictionaries(st.sampled_from(["search", "category", "ordering", "page", "page_size", "tag"]),
                             st.text(max_size=300), max_size=4))
def test_reviews_moderation_and_listing_never_fail_with_500(library_entry, payload, query):
    entry = library_entry
    client = APIClient()
    client.force_authenticate(entry.user)
    _assert_clean(client.post(f"/api/v1/apps/{entry.app.slug}/reviews/", payload, format="json"))
    _assert_clean(client.post(f"/api/v1/apps/{entry.app.slug}/review/", payload, format="json"))
    _assert_clean(client.get("/api/v1/apps/", query))


def test_malformed_json_and_wrong_content_type_are_400_and_415(developer_client):
    _assert_clean(response := developer_client.post("/api/v1/apps/", "{not json", content_type="application/json"))
    assert response.status_code == 400
    _assert_clean(response := developer_client.post("/api/v1/apps/", "x", content_type="text/csv"))
    assert response.status_code == 415
