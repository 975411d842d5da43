"""The store lists only apps that can run, filters by price and task, tolerates typos, and ranks
"Top rated" only among apps with enough ratings."""
from decimal import Decimal

import pytest
from django.db import connection

from marketplace.models import AppVersion, VersionStatus
from marketplace.selectors import app_list_published, apps_top_rated
from tests.factories import AppFactory, PaidAppFactory

pytestmark = pytest.mark.django_db


def test_store_hides_published_apps_without_a_ready_version(client):
    runnable = AppFactory(name="Runs Fine", ready=True)
    no_model = AppFactory(name="Never Ready")
    AppVersion.objects.create(app=no_model, version="1.0.0", status=VersionStatus.UPLOADED)
    broken = AppFactory(name="Broken Model")
    AppVersion.objects.create(app=broken, version="1.0.0", status=VersionStatus.INVALID)
    assert list(app_list_published()) == [runnable]
    for url in ("/", "/apps/", "/search/?q=never", "/api/v1/apps/"):
        body = client.get(url).content.decode()
        assert "Never Ready" not in body and "Broken Model" not in body, url
    assert "Runs Fine" in client.get("/apps/").content.decode()


def test_filters_free_paid_price_range_and_task():
    free = AppFactory(name="Free One", ready=True)
    cheap = PaidAppFactory(name="Cheap One", base_price=Decimal("0.002"), ready=True)
    dear = PaidAppFactory(name="Dear One", base_price=Decimal("0.040"), max_price=Decimal("0.05"), ready=True,
                          ready__task="image-classification")
    assert set(app_list_published(pricing="free")) == {free}
    assert set(app_list_published(pricing="paid")) == {cheap, dear}
    assert set(app_list_published(pricing="paid", price_max=Decimal("0.01"))) == {cheap}
    assert set(app_list_published(price_min=Decimal("0.01"))) == {dear}
    assert set(app_list_published(task="image-classification")) == {dear}


def test_filter_form_on_the_store_page_and_bad_values_are_ignored(client):
    AppFactory(name="Free One", ready=True)
    PaidAppFactory(name="Paid One", ready=True)
    body = client.get("/apps/?pricing=paid").content.decode()
    assert "Paid One" in body and "Free One" not in body
    response = client.get("/apps/?pricing=nonsense&price_max=abc&task=nope")
    assert response.status_code == 200
    assert "Paid One" in response.content.decode() and "Free One" in response.content.decode()
    api = client.get("/api/v1/apps/?pricing=free").json()
    assert [row["name"] for row in api["results"]] == ["Free One"]


def test_search_tolerates_typos():
    app = AppFactory(name="Finance Sentiment", tagline="Good or bad news for the stock?", ready=True)
    AppFactory(name="Shape Classifier", tagline="Circles and squares", ready=True)
    assert list(app_list_published(search="sentimnt")) == [app], connection.vendor
    assert list(app_list_published(search="finanse")) == [app]
    assert list(app_list_published(search="zebra")) == []


def test_top_rated_needs_a_minimum_number_of_ratings(settings):
    settings.TOP_RATED_MIN_REVIEWS = 3
    lucky = AppFactory(name="One Five Star", rating_sum=5, reviews_count=1, ready=True)
    solid = AppFactory(name="Well Rated", rating_sum=13, reviews_count=3, ready=True)
    assert apps_top_rated() == [solid]
    # Sorting the store by rating keeps everyone, but apps with too few ratings come after.
    assert list(app_list_published(ordering="-rating")) == [solid, lucky]
