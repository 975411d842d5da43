"""Forms show inline errors for bad input, and good input goes through the services."""
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import ApiKey
from accounts.services import hash_api_key
from marketplace.models import App, AppStatus, AppVersion, LibraryEntry, Review, VersionStatus
from marketplace.services import app_acquire_blocker, app_submit_requirements
from tests.factories import AppFactory, AppVersionFactory, LibraryEntryFactory, UserFactory, category
from tests.web.conftest import png_bytes

pytestmark = pytest.mark.django_db


def app_post(**overrides) -> dict:
    data = {"name": "Mood Reader", "tagline": "Tells happy from sad", "description": "## Usage\n\nSend text.",
            "category": category("finance").pk, "tags": "nlp, sentiment", "pricing_model": "free",
            "base_price": "0", "k": "0", "window_seconds": "3600", "max_price": "0", "free_calls_per_month": "0",
            "purchase_price": ""}
    data.update(overrides)
    return data


def test_create_app_with_icon_then_edit(client_for, developer):
    client = client_for(developer)
    icon = SimpleUploadedFile("icon.png", png_bytes(), content_type="image/png")
    response = client.post(reverse("marketplace:console_app_new"), {**app_post(), "icon": icon})
    app = App.objects.get(name="Mood Reader")
    assert response.status_code == 302 and response["Location"] == f"/console/apps/{app.slug}/"
    assert app.status == AppStatus.DRAFT and app.owner == developer and app.icon
    assert sorted(app.tags.values_list("slug", flat=True)) == ["nlp", "sentiment"]
    response = client.post(f"/console/apps/{app.slug}/", app_post(
        name="Mood Reader 2", pricing_model="per_call", base_price="0.01", k="0.001", max_price="0.05"))
    assert response.status_code == 302
    app.refresh_from_db()
    assert app.name == "Mood Reader 2" and app.pricing_model == "per_call" and str(app.max_price) == "0.050000"


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"name": ""}, "name", "This field is required."),
    ({"tagline": "x" * 141}, "tagline", "at most 140 characters"),
    ({"base_price": "-1", "pricing_model": "per_call"}, "base_price", "greater than or equal to 0"),
    ({"base_price": "0.0000001", "pricing_model": "per_call"}, "base_price", "6 decimal places"),
    ({"pricing_model": "per_call", "base_price": "0.05", "max_price": "0.01"}, "max_price",
     "cannot be below the base price"),
])
def test_create_app_inline_errors(client_for, developer, overrides, field, message):
    response = client_for(developer).post(reverse("marketplace:console_app_new"), app_post(**overrides))
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert f'id="id_{field}_errors"' in response.content.decode()
    assert not App.objects.filter(owner=developer).exists()


@pytest.mark.parametrize(("upload", "message"), [
    (SimpleUploadedFile("icon.png", b"not an image at all", content_type="image/png"), "valid image"),
    (SimpleUploadedFile("icon.bmp", png_bytes(fmt="BMP"), content_type="image/bmp"), "valid image"),
    (SimpleUploadedFile("tiny.png", png_bytes(size=(8, 8)), content_type="image/png"), "between 32 and 2048"),
    (SimpleUploadedFile("huge.png", png_bytes(size=(3000, 40)), content_type="image/png"), "between 32 and 2048"),
    (SimpleUploadedFile("big.png", b"\x89PNG" + b"0" * (1024 * 1024 + 10), content_type="image/png"), "1 MB"),
])
def test_icon_is_validated(client_for, developer, upload, message):
    response = client_for(developer).post(reverse("marketplace:console_app_new"), {**app_post(), "icon": upload})
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors["icon"])


def test_submit_explains_what_is_missing_then_goes_to_review(client_for, developer):
    app = AppFactory(owner=developer, status=AppStatus.DRAFT)
    client = client_for(developer)
    submit_url = reverse("marketplace:console_app_submit", kwargs={"slug": app.slug})
    console_url = reverse("marketplace:console_app", kwargs={"slug": app.slug})
    problem = app_submit_requirements(app)
    assert problem and problem in client.get(console_url).content.decode()
    response = client.post(submit_url, follow=True)
    assert problem in response.content.decode()
    app.refresh_from_db()
    assert app.status == AppStatus.DRAFT
    AppVersionFactory(app=app, version="1.0.0", status=VersionStatus.UPLOADED)
    problem = app_submit_requirements(app)
    assert problem and problem in client.post(submit_url, follow=True).content.decode()
    AppVersionFactory(app=app, version="1.0.1", status=VersionStatus.READY)
    assert app_submit_requirements(app) is None
    response = client.post(submit_url, follow=True)
    assert "Submitted for review." in response.content.decode()
    app.refresh_from_db()
    assert app.status == AppStatus.IN_REVIEW
    assert "Submitted for review." not in client.post(submit_url, follow=True).content.decode()  # already in review


def test_version_form_shows_inline_errors(client_for, developer):
    app = AppFactory(owner=developer, status=AppStatus.DRAFT)
    url = reverse("marketplace:console_version_new", kwargs={"slug": app.slug})
    client = client_for(developer)
    assert client.get(url).status_code == 200
    response = client.post(url, {"version": "", "changelog": ""})
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "This field is required." in errors["version"]
    assert 'id="id_version_errors"' in response.content.decode()
    assert not AppVersion.objects.filter(app=app).exists()
    other = AppFactory(status=AppStatus.DRAFT)
    assert client.get(reverse("marketplace:console_version_new", kwargs={"slug": other.slug})).status_code == 404


def test_rejection_reason_shows_in_console(client_for, developer):
    AppFactory(owner=developer, status=AppStatus.REJECTED, status_reason="The description is empty.")
    html = client_for(developer).get(reverse("marketplace:console")).content.decode()
    assert "The description is empty." in html and "badge-rejected" in html


def test_get_then_review_then_reply(client_for, user, developer):
    app = AppFactory(owner=developer)
    AppVersionFactory(app=app)
    client = client_for(user)
    review_url = reverse("marketplace:app_review", kwargs={"slug": app.slug})
    response = client.post(review_url, {"rating": "5", "text": "Great"})
    assert response.status_code == 400
    assert "Get the app before reviewing it." in response.content.decode()
    assert client.post(reverse("marketplace:app_get", kwargs={"slug": app.slug})).status_code == 302
    assert LibraryEntry.objects.filter(user=user, app=app).exists()
    response = client.post(review_url, {"rating": "9", "text": "Too good"})
    assert response.status_code == 400 and "errorlist" in response.content.decode()
    assert client.post(review_url, {"rating": "4", "text": "Solid"}).status_code == 302
    assert client.post(review_url, {"rating": "5", "text": "Even better"}).status_code == 302  # edits, not duplicates
    review = Review.objects.get(app=app, user=user)
    assert (review.rating, review.text) == (5, "Even better")
    app.refresh_from_db()
    assert (app.reviews_count, app.rating_sum) == (1, 5)
    reply_url = reverse("marketplace:review_reply", kwargs={"slug": app.slug, "review_id": review.pk})
    assert client.post(reply_url, {"text": "Not mine to answer"}).status_code == 404
    dev_client = client_for(developer)
    response = dev_client.post(reply_url, {"text": ""})
    assert response.status_code == 400 and "This field is required." in response.content.decode()
    assert dev_client.post(reply_url, {"text": "Thanks!"}).status_code == 302
    html = client.get(app.get_absolute_url()).content.decode()
    assert "Thanks!" in html and "Developer reply" in html


def test_owner_cannot_review_own_app(client_for, developer):
    app = AppFactory(owner=developer)
    LibraryEntryFactory(user=developer, app=app)
    html = client_for(developer).get(app.get_absolute_url()).content.decode()
    assert 'id="review-form"' not in html


def test_profile_settings_inline_errors_and_save(client_for, user):
    other = UserFactory(username="taken")
    client = client_for(user)
    response = client.post(reverse("accounts:settings"), {"username": other.username, "bio": "", "website": ""})
    assert response.status_code == 400 and "already exists" in response.content.decode()
    response = client.post(reverse("accounts:settings"), {"username": "ok", "bio": "", "website": "not a url"})
    assert response.status_code == 400 and "Enter a valid URL." in response.content.decode()
    response = client.post(reverse("accounts:settings"),
                           {"username": "newname", "bio": "Hi **there**", "website": "https://example.org"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.username, user.website) == ("newname", "https://example.org")


def test_become_developer_needs_the_checkbox(client_for, user):
    client = client_for(user)
    response = client.post(reverse("accounts:become_developer"), {})
    assert response.status_code == 400 and "You must accept the developer terms." in response.content.decode()
    user.refresh_from_db()
    assert not user.is_developer
    assert client.post(reverse("accounts:become_developer"), {"accept_terms": "on"}).status_code == 302
    user.refresh_from_db()
    assert user.is_developer and user.developer_terms_accepted_at


def test_api_key_shown_once_listed_and_revoked(client_for, user):
    client = client_for(user)
    response = client.post(reverse("accounts:api_keys"), {"name": "", "scopes": []})
    assert response.status_code == 400
    assert "Give the key a name." in response.content.decode()
    response = client.post(reverse("accounts:api_keys"), {"name": "ci", "scopes": []})
    assert response.status_code == 400 and "Choose at least one scope." in response.content.decode()
    response = client.post(reverse("accounts:api_keys"), {"name": "ci", "scopes": ["read", "predict"]})
    # Post/redirect/get: the key is shown once on the page the redirect leads to; a refresh makes no second key.
    assert response.status_code == 302 and response["Location"] == reverse("accounts:api_keys")
    shown = client.get(reverse("accounts:api_keys"))
    raw_key = shown.context["created"]["raw_key"]
    assert raw_key in shown.content.decode() and 'id="new-key"' in shown.content.decode()
    key = ApiKey.objects.get(user=user)
    assert key.hashed_key == hash_api_key(raw_key) and key.scopes == ["predict", "read"]
    listing = client.get(reverse("accounts:api_keys")).content.decode()  # the refresh
    assert raw_key not in listing and f"mm_{key.prefix}_" in listing
    assert ApiKey.objects.filter(user=user).count() == 1
    assert "No cap" in listing and ">None<" not in listing
    stranger = client_for(UserFactory())
    assert stranger.post(reverse("accounts:api_key_revoke", kwargs={"key_id": key.pk})).status_code == 404
    assert client.post(reverse("accounts:api_key_revoke", kwargs={"key_id": key.pk})).status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_paid_app_get_sends_to_checkout_instead_of_adding(client_for, user, developer):
    app = AppFactory(owner=developer, purchase_price=Decimal("4.99"))
    client = client_for(user)
    html = client.get(app.get_absolute_url()).content.decode()
    assert "Buy · $4.99" in html
    response = client.post(reverse("marketplace:app_get", kwargs={"slug": app.slug}))
    assert response.status_code == 302
    assert response["Location"] == app_acquire_blocker(user=user, app=app)["checkout_url"]
    assert not LibraryEntry.objects.filter(user=user, app=app).exists()


def test_anonymous_get_goes_to_login(client_for, developer):
    app = AppFactory(owner=developer)
    response = client_for().post(reverse("marketplace:app_get", kwargs={"slug": app.slug}))
    assert response.status_code == 302 and reverse("account_login") in response["Location"]
