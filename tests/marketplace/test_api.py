"""The marketplace part of shared/API.md: listing, lifecycle, moderation, library, reviews, error shapes."""
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from marketplace.models import App, AppStatus, AppVersion, LibraryEntry, VersionStatus
from tests.accounts.test_api import assert_error
from tests.conftest import key_client
from tests.factories import (
    AppFactory,
    AppVersionFactory,
    DeveloperFactory,
    LibraryEntryFactory,
    ModeratorFactory,
    PaidAppFactory,
    UserFactory,
    category,
)

pytestmark = pytest.mark.django_db

APP_FIELDS = {"slug", "name", "tagline", "description", "category", "owner", "status", "rating", "reviews_count",
              "runs", "pricing", "price", "currency", "latest_version", "created_at"}
PRICING_FIELDS = {"model", "base_price", "k", "window_seconds", "max_price", "free_calls_per_month", "purchase_price"}
MONEY = re.compile(r"^\d+\.\d{6}$")


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_categories_are_listed():
    body = APIClient().get("/api/v1/categories/").json()
    slugs = [item["slug"] for item in body]
    assert {"games", "finance", "healthcare", "education", "customer-service", "recommendation", "other"} <= set(slugs)
    assert all({"slug", "name"} <= set(item) for item in body)


def test_listing_shows_published_apps_with_the_full_representation():
    app = PaidAppFactory(base_price=Decimal("0.002"), k=Decimal("0.0001"), max_price=Decimal("0.01"),
                         free_calls_per_month=20, rating_sum=9, reviews_count=2, runs_count=7)
    AppVersionFactory(app=app, version="1.0.0", status="ready", task="text-classification")
    AppFactory(status=AppStatus.DRAFT)
    AppFactory(status=AppStatus.IN_REVIEW)
    body = APIClient().get("/api/v1/apps/").json()
    assert {"count", "next", "previous", "results"} <= set(body)
    assert body["count"] == 1
    item = body["results"][0]
    assert set(item) >= APP_FIELDS
    assert set(item["pricing"]) >= PRICING_FIELDS
    assert item["pricing"] == {"model": "per_call", "base_price": "0.002000", "k": "0.000100", "window_seconds": 3600,
                               "max_price": "0.010000", "free_calls_per_month": 20, "purchase_price": None}
    assert MONEY.match(item["price"]) and item["price"] == "0.002000" and item["currency"] == "usd"
    assert (item["rating"], item["reviews_count"], item["runs"]) == ("4.50", 2, 7)
    assert item["owner"] == app.owner.username and item["category"] == app.category.slug
    assert item["latest_version"]["version"] == "1.0.0" and item["latest_version"]["status"] == "ready"
    assert item["created_at"].endswith(("Z", "+00:00"))


def test_listing_search_category_ordering_and_pagination():
    AppFactory(name="Dungeon Talk", category=category("games"), runs_count=1, ready=True)
    AppFactory(name="Ledger Bot", category=category("finance"), runs_count=9, ready=True)
    for _ in range(3):
        AppFactory(category=category("other"), ready=True)
    client = APIClient()
    assert [a["name"] for a in client.get("/api/v1/apps/?search=dungeon").json()["results"]] == ["Dungeon Talk"]
    assert [a["name"] for a in client.get("/api/v1/apps/?category=finance").json()["results"]] == ["Ledger Bot"]
    assert client.get("/api/v1/apps/?ordering=-runs").json()["results"][0]["name"] == "Ledger Bot"
    page = client.get("/api/v1/apps/?page_size=2&page=2").json()
    assert page["count"] == 5 and len(page["results"]) == 2 and page["next"] and page["previous"]
    assert len(client.get("/api/v1/apps/?page_size=1000").json()["results"]) == 5


def test_listing_bad_parameters_answer_400_with_fields():
    error = assert_error(APIClient().get("/api/v1/apps/?ordering=cheapest&category=nope"), 400, "invalid")
    assert set(error["fields"]) == {"ordering", "category"}
    assert_error(APIClient().get("/api/v1/apps/?page=99"), 404)


def _publish_bulk(start: int, count: int, owners) -> None:
    App.objects.bulk_create([
        App(owner=owners[i % len(owners)], slug=f"bulk-{i}", name=f"Bulk {i}", tagline="t", category=category(),
            status=AppStatus.PUBLISHED, pricing_model="per_call" if i % 2 else "free",
            base_price=Decimal("0.001"), k=Decimal("0.0001"), max_price=Decimal("0.01"))
        for i in range(start, start + count)
    ])
    bulk = App.objects.filter(slug__in=[f"bulk-{i}" for i in range(start, start + count)])
    AppVersion.objects.bulk_create([AppVersion(app=app, version="0.9.0", status=VersionStatus.READY) for app in bulk])
    for app in bulk[:5]:
        AppVersionFactory(app=app)
        app.tags.create(slug=f"tag-{app.pk}", name=f"Tag {app.pk}")


def _listing_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/apps/?page_size=100")
    assert response.status_code == 200
    return len(queries)


def test_listing_runs_the_same_number_of_queries_for_3_and_300_apps():
    owners = DeveloperFactory.create_batch(5)
    client = key_client(UserFactory(), scopes=["read"])
    _publish_bulk(0, 3, owners)
    client.get("/api/v1/apps/")  # warm-up: the key's last_used_at is written once a minute at most
    with_3 = _listing_queries(client)
    _publish_bulk(3, 297, owners)
    with_300 = _listing_queries(client)
    assert client.get("/api/v1/apps/?page_size=100").json()["count"] == 300
    # Key lookup, count, page (with owner and category), tags, versions, billing's demand.
    assert with_3 == with_300 <= 7, (with_3, with_300)


def test_app_detail_runs_a_constant_number_of_queries(django_assert_max_num_queries):
    app = PaidAppFactory()
    AppVersionFactory.create_batch(5, app=app)
    for i in range(5):
        app.tags.create(slug=f"t{i}", name=f"T{i}")
    client = APIClient()
    with django_assert_max_num_queries(5):
        assert client.get(f"/api/v1/apps/{app.slug}/").status_code == 200


def test_developer_creates_a_draft_app():
    developer = DeveloperFactory()
    payload = {"name": "Ticket Router", "tagline": "Send tickets to the right team",
               "description": "## Hello", "category": "customer-service", "tags": ["support"],
               "pricing": {"model": "per_call", "base_price": "0.001", "k": 0.0001, "window_seconds": 600,
                           "max_price": "0.005", "free_calls_per_month": 10}}
    response = key_client(developer, scopes=["publish", "read"]).post("/api/v1/apps/", payload, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["slug"] == "ticket-router" and body["status"] == "draft" and body["category"] == "customer-service"
    assert body["pricing"]["k"] == "0.000100" and body["pricing"]["window_seconds"] == 600
    assert body["tags"] == ["support"]
    assert App.objects.get(slug="ticket-router").owner == developer
    # Others cannot see the draft; the owner can.
    assert_error(APIClient().get("/api/v1/apps/ticket-router/"), 404, "not_found")
    assert_error(client_for(UserFactory()).get("/api/v1/apps/ticket-router/"), 404)
    assert client_for(developer).get("/api/v1/apps/ticket-router/").status_code == 200


def test_create_app_errors_400_401_403():
    payload = {"name": "X", "tagline": "Y", "category": "games"}
    assert_error(APIClient().post("/api/v1/apps/", payload, format="json"), 401)
    assert_error(client_for(UserFactory()).post("/api/v1/apps/", payload, format="json"), 403, "permission_denied")
    developer = DeveloperFactory()
    assert_error(key_client(developer, scopes=["read", "predict"]).post("/api/v1/apps/", payload, format="json"), 403)
    error = assert_error(client_for(developer).post(
        "/api/v1/apps/", {"name": "", "category": "nope", "pricing": {"base_price": "-1", "model": "gift"}},
        format="json"), 400, "invalid")
    assert {"name", "tagline", "category", "pricing"} <= set(error["fields"])
    assert {"base_price", "model"} <= set(error["fields"]["pricing"])
    error = assert_error(client_for(developer).post("/api/v1/apps/", {
        **payload, "pricing": {"model": "per_call", "base_price": "0.5", "max_price": "0.1"}}, format="json"), 400)
    assert "pricing.max_price" in error["fields"]
    assert_error(client_for(developer).post("/api/v1/apps/", "not json", content_type="application/json"), 400)
    assert not App.objects.exists()


def test_patch_is_for_the_owner_only():
    app = AppFactory()
    response = client_for(app.owner).patch(f"/api/v1/apps/{app.slug}/",
                                           {"tagline": "Sharper", "pricing": {"free_calls_per_month": 5}},
                                           format="json")
    assert response.status_code == 200
    assert response.json()["tagline"] == "Sharper" and response.json()["pricing"]["free_calls_per_month"] == 5
    assert_error(client_for(UserFactory()).patch(f"/api/v1/apps/{app.slug}/", {"tagline": "Mine"}, format="json"),
                 403, "permission_denied")
    draft = AppFactory(status=AppStatus.DRAFT)
    assert_error(client_for(UserFactory()).patch(f"/api/v1/apps/{draft.slug}/", {"tagline": "x"}, format="json"), 404)
    error = assert_error(client_for(app.owner).patch(f"/api/v1/apps/{app.slug}/", {"name": ""}, format="json"), 400)
    assert "name" in error["fields"]
    app.refresh_from_db()
    assert app.tagline == "Sharper"


def test_submit_then_a_moderator_approves_over_the_api():
    app = AppFactory(status=AppStatus.DRAFT)
    owner = client_for(app.owner)
    error = assert_error(owner.post(f"/api/v1/apps/{app.slug}/submit/"), 400)
    assert "versions" in error["fields"]
    AppVersionFactory(app=app, status="ready")
    assert_error(client_for(UserFactory()).post(f"/api/v1/apps/{app.slug}/submit/"), 404)
    assert owner.post(f"/api/v1/apps/{app.slug}/submit/").json()["status"] == "in_review"
    assert_error(owner.post(f"/api/v1/apps/{app.slug}/submit/"), 409, "invalid_state")

    # Only moderators review; the owner (who can see it) gets 403, a stranger (who cannot) 404.
    assert_error(owner.post(f"/api/v1/apps/{app.slug}/review/", {"decision": "approve"}, format="json"), 403)
    assert_error(client_for(UserFactory()).post(f"/api/v1/apps/{app.slug}/review/", {"decision": "approve"},
                                                format="json"), 404)
    moderator = client_for(ModeratorFactory())
    error = assert_error(moderator.post(f"/api/v1/apps/{app.slug}/review/", {"decision": "reject"}, format="json"),
                         400)
    assert "reason" in error["fields"]
    assert_error(moderator.post(f"/api/v1/apps/{app.slug}/review/", {"decision": "maybe"}, format="json"), 400)
    response = moderator.post(f"/api/v1/apps/{app.slug}/review/", {"decision": "approve"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "published"
    assert APIClient().get(f"/api/v1/apps/{app.slug}/").status_code == 200
    assert_error(moderator.post(f"/api/v1/apps/{app.slug}/review/", {"decision": "approve"}, format="json"),
                 409, "invalid_state")
    # A published app: everyone can see it, still only moderators decide.
    assert_error(client_for(UserFactory()).post(f"/api/v1/apps/{app.slug}/review/",
                                                {"decision": "suspend", "reason": "x"}, format="json"), 403)


def test_superusers_can_review_too():
    from accounts.models import User

    admin = User.objects.create_superuser(email="root@example.com", username="root", password="pw-123456789")
    app = AppFactory(status=AppStatus.IN_REVIEW)
    response = client_for(admin).post(f"/api/v1/apps/{app.slug}/review/",
                                      {"decision": "reject", "reason": "Incomplete"}, format="json")
    assert response.status_code == 200 and response.json()["status_reason"] == "Incomplete"


def test_acquire_adds_to_the_library():
    app, user = AppFactory(), UserFactory()
    client = key_client(user, scopes=["predict"])
    response = client.post(f"/api/v1/apps/{app.slug}/acquire/")
    assert response.status_code == 200 and response.json()["app"] == app.slug
    assert client.post(f"/api/v1/apps/{app.slug}/acquire/").status_code == 200
    assert LibraryEntry.objects.filter(user=user, app=app).count() == 1
    assert_error(key_client(user, scopes=["read"]).post(f"/api/v1/apps/{app.slug}/acquire/"), 403)
    assert_error(APIClient().post(f"/api/v1/apps/{app.slug}/acquire/"), 401)
    assert_error(client.post(f"/api/v1/apps/{AppFactory(status=AppStatus.DRAFT).slug}/acquire/"), 404)


def test_acquiring_a_paid_app_answers_402_with_where_to_pay():
    app, user = AppFactory(purchase_price=Decimal("4.990000")), UserFactory()
    error = assert_error(client_for(user).post(f"/api/v1/apps/{app.slug}/acquire/"), 402, "payment_required")
    assert error["checkout_url"]
    assert not LibraryEntry.objects.filter(user=user, app=app).exists()


def test_reviews_one_per_user_only_from_users_who_have_the_app():
    app = AppFactory()
    entry = LibraryEntryFactory(app=app)
    reviewer = client_for(entry.user)
    assert_error(client_for(UserFactory()).post(f"/api/v1/apps/{app.slug}/reviews/", {"rating": 5}, format="json"),
                 403, "permission_denied")
    error = assert_error(reviewer.post(f"/api/v1/apps/{app.slug}/reviews/", {"rating": 9}, format="json"), 400)
    assert "rating" in error["fields"]
    response = reviewer.post(f"/api/v1/apps/{app.slug}/reviews/", {"rating": 4, "text": "Nice"}, format="json")
    assert response.status_code == 201
    assert response.json()["rating"] == 4 and response.json()["user"] == entry.user.username
    assert_error(reviewer.post(f"/api/v1/apps/{app.slug}/reviews/", {"rating": 1}, format="json"), 409,
                 "already_reviewed")
    listing = APIClient().get(f"/api/v1/apps/{app.slug}/reviews/").json()
    assert listing["count"] == 1 and listing["results"][0]["text"] == "Nice"
    detail = APIClient().get(f"/api/v1/apps/{app.slug}/").json()
    assert (detail["rating"], detail["reviews_count"]) == ("4.00", 1)
    assert_error(APIClient().get(f"/api/v1/apps/{AppFactory(status=AppStatus.DRAFT).slug}/reviews/"), 404)


def test_unknown_app_and_method_errors_keep_the_shape():
    assert_error(APIClient().get("/api/v1/apps/nope/"), 404, "not_found")
    assert_error(client_for(UserFactory()).delete(f"/api/v1/apps/{AppFactory().slug}/"), 405)
