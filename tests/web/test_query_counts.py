"""The store listing, home and app page run a constant number of queries: the same with 3 apps as with 300."""
from decimal import Decimal

import pytest
from django.contrib.auth.hashers import make_password
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from marketplace.models import App, AppStatus, AppVersion, LibraryEntry, PricingModel, Review, Tag
from tests.factories import UserFactory, category

pytestmark = pytest.mark.django_db

# Generous enough for the extension points others fill in, tight enough to catch any per-app query.
LISTING_BOUND = 30
APP_PAGE_BOUND = 40

_batch = 0


def make_apps(count: int) -> list[App]:
    """`count` published per-call apps with distinct owners, tags and versions, in bulk.

    All are priced per call so that every page holds priced apps: the price lookup's query then runs on both
    sides of the comparison (it is skipped, legitimately, for a page of free apps only).
    """
    global _batch
    _batch += 1
    password = make_password("x")
    owners = User.objects.bulk_create([
        User(username=f"qc{_batch}-{i}", email=f"qc{_batch}-{i}@example.com", password=password, is_developer=True)
        for i in range(count)
    ])
    categories = [category(slug) for slug in ("games", "finance", "education")]
    apps = App.objects.bulk_create([
        App(owner=owners[i], slug=f"qc{_batch}-app-{i}", name=f"Query App {i}", tagline="Counts queries",
            category=categories[i % 3], status=AppStatus.PUBLISHED, runs_count=i, rating_sum=(i % 5) + 1,
            reviews_count=1, pricing_model=PricingModel.PER_CALL, base_price=Decimal("0.01") + Decimal(i) / 1000,
            k=Decimal("0.001"), max_price=Decimal("0.5"), featured=i < 3)
        for i in range(count)
    ])
    tags = [Tag.objects.get_or_create(slug=f"tag-{j}", defaults={"name": f"tag {j}"})[0] for j in range(3)]
    App.tags.through.objects.bulk_create([
        App.tags.through(app_id=app.pk, tag_id=tag.pk) for app in apps for tag in tags
    ])
    AppVersion.objects.bulk_create([AppVersion(app=app, version="1.0.0") for app in apps])
    return apps


def add_reviews(app: App, count: int) -> None:
    reviewers = User.objects.bulk_create([
        User(username=f"r{app.pk}-{i}", email=f"r{app.pk}-{i}@example.com", password="x") for i in range(count)
    ])
    LibraryEntry.objects.bulk_create([LibraryEntry(user=u, app=app) for u in reviewers])
    Review.objects.bulk_create([
        Review(app=app, user=u, rating=4, text="Good", developer_reply="Thanks" if i % 2 else "")
        for i, u in enumerate(reviewers)
    ])
    AppVersion.objects.bulk_create([AppVersion(app=app, version=f"2.0.{i}") for i in range(count)])


def count_queries(client, url: str, **params) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(context.captured_queries)


@pytest.fixture
def viewer():
    return UserFactory()


@pytest.fixture
def viewer_client(client_for, viewer):
    return client_for(viewer)


@pytest.mark.parametrize(("url_name", "params"), [
    ("marketplace:home", {}),
    ("marketplace:browse", {}),
    ("marketplace:browse", {"ordering": "-rating"}),
    ("marketplace:browse", {"ordering": "price", "page": "1"}),
    ("marketplace:search", {"q": "Query"}),
])
@pytest.mark.parametrize("anonymous", [True, False])
def test_listing_query_count_is_constant(client_for, viewer_client, url_name, params, anonymous):
    client = client_for() if anonymous else viewer_client
    url = reverse(url_name)
    make_apps(3)
    few = count_queries(client, url, **params)
    make_apps(297)
    many = count_queries(client, url, **params)
    assert few == many
    assert many <= LISTING_BOUND


def test_category_and_library_query_count_is_constant(viewer, viewer_client):
    user = viewer
    apps = make_apps(3)
    LibraryEntry.objects.bulk_create([LibraryEntry(user=user, app=app) for app in apps])
    few = (count_queries(viewer_client, reverse("marketplace:category", kwargs={"slug": "games"})),
           count_queries(viewer_client, reverse("marketplace:library")))
    apps = make_apps(297)
    LibraryEntry.objects.bulk_create([LibraryEntry(user=user, app=app) for app in apps])
    many = (count_queries(viewer_client, reverse("marketplace:category", kwargs={"slug": "games"})),
            count_queries(viewer_client, reverse("marketplace:library")))
    assert few == many


@pytest.mark.parametrize("anonymous", [True, False])
def test_app_page_query_count_is_constant(client_for, viewer_client, anonymous):
    client = client_for() if anonymous else viewer_client
    few_app = make_apps(3)[0]
    add_reviews(few_app, 3)
    few = count_queries(client, few_app.get_absolute_url())
    many_app = make_apps(300)[1]
    add_reviews(many_app, 40)
    many = count_queries(client, many_app.get_absolute_url())
    assert few == many
    assert many <= APP_PAGE_BOUND
