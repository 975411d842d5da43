"""Every page renders for anonymous and logged-in people, and private things stay private."""
import pytest
from django.urls import reverse

from accounts.services import notification_send
from marketplace.models import AppStatus, VersionStatus
from tests.factories import AppFactory, AppVersionFactory, DeveloperFactory, LibraryEntryFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(developer):
    app = AppFactory(owner=developer, name="Sentiment Pro", tagline="Reads the mood of finance news",
                     description="# Hello\n\n<script>alert(1)</script>\n\n**bold** [link](javascript:alert(1))")
    AppVersionFactory(app=app, version="1.0.0", status=VersionStatus.READY)
    return app


PUBLIC_PAGES = [
    ("marketplace:home", {}),
    ("marketplace:browse", {}),
    ("marketplace:search", {}),
    ("account_login", {}),
    ("account_signup", {}),
    ("account_reset_password", {}),
]
PRIVATE_PAGES = [
    "marketplace:library", "marketplace:console", "marketplace:console_app_new", "accounts:settings",
    "accounts:api_keys", "accounts:become_developer", "accounts:notifications",
]


@pytest.mark.parametrize(("name", "kwargs"), PUBLIC_PAGES)
def test_public_pages_render_anonymous(client_for, published, name, kwargs):
    response = client_for().get(reverse(name, kwargs=kwargs))
    assert response.status_code == 200
    assert b"ModelMarket" in response.content


def test_app_category_profile_pages_render_anonymous(client_for, published):
    client = client_for()
    for url in (published.get_absolute_url(), reverse("marketplace:category", kwargs={"slug": "games"}),
                reverse("accounts:profile", kwargs={"username": published.owner.username})):
        response = client.get(url)
        assert response.status_code == 200, url
        assert b"Sentiment Pro" in response.content


@pytest.mark.parametrize("name", PRIVATE_PAGES)
def test_private_pages_redirect_anonymous_to_login(client_for, name):
    response = client_for().get(reverse(name))
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


@pytest.mark.parametrize("name", PRIVATE_PAGES)
def test_private_pages_render_for_a_developer(client_for, developer, published, name):
    response = client_for(developer).get(reverse(name))
    assert response.status_code == 200


def test_logged_in_pages_render(client_for, user, published):
    client = client_for(user)
    for url in (reverse("marketplace:home"), published.get_absolute_url(), reverse("marketplace:library"),
                reverse("accounts:settings"), reverse("accounts:api_keys"), reverse("account_logout"),
                reverse("account_email"), reverse("account_change_password")):
        assert client.get(url).status_code == 200, url


def test_console_sends_non_developers_to_the_terms(client_for, user):
    response = client_for(user).get(reverse("marketplace:console"))
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:become_developer")


def test_app_page_shows_sanitised_markdown_owner_and_versions(client_for, published):
    html = client_for().get(published.get_absolute_url()).content.decode()
    assert "<h1>Hello</h1>" in html
    assert "<strong>bold</strong>" in html
    assert "<script>alert(1)</script>" not in html
    assert 'href="javascript:' not in html
    assert reverse("accounts:profile", kwargs={"username": published.owner.username}) in html
    assert "v1.0.0" in html
    assert 'id="price"' in html


def test_others_drafts_are_404_but_the_owner_sees_them(client_for, developer):
    draft = AppFactory(owner=developer, status=AppStatus.DRAFT)
    stranger = UserFactory()
    assert client_for().get(draft.get_absolute_url()).status_code == 404
    assert client_for(stranger).get(draft.get_absolute_url()).status_code == 404
    assert client_for(developer).get(draft.get_absolute_url()).status_code == 200
    other_dev = DeveloperFactory()
    console_url = reverse("marketplace:console_app", kwargs={"slug": draft.slug})
    assert client_for(other_dev).get(console_url).status_code == 404
    assert client_for(developer).get(console_url).status_code == 200


def test_listing_excludes_drafts_and_searches(client_for, published, developer):
    AppFactory(owner=developer, name="Hidden Draft", status=AppStatus.DRAFT)
    AppFactory(owner=developer, name="Shape Classifier", tagline="Squares or circles", ready=True)
    client = client_for()
    html = client.get(reverse("marketplace:browse")).content.decode()
    assert "Sentiment Pro" in html and "Shape Classifier" in html and "Hidden Draft" not in html
    html = client.get(reverse("marketplace:search"), {"q": "sentiment"}).content.decode()
    assert "Sentiment Pro" in html and "Shape Classifier" not in html


def test_sorting_and_pagination(client_for, developer):
    for index in range(30):
        AppFactory(owner=developer, name=f"Paged {index:02d}", runs_count=index, ready=True)
    client = client_for()
    first = client.get(reverse("marketplace:browse"), {"ordering": "-runs"}).content.decode()
    assert first.index("Paged 29") < first.index("Paged 28")
    assert "Paged 00" not in first  # page 2 of 24 a page
    second = client.get(reverse("marketplace:browse"), {"ordering": "-runs", "page": 2}).content.decode()
    assert "Paged 00" in second and "Paged 29" not in second
    newest = client.get(reverse("marketplace:browse"), {"ordering": "-created"}).content.decode()
    assert newest.index("Paged 29") < newest.index("Paged 20")
    for ordering in ("-rating", "price", "nonsense"):
        assert client.get(reverse("marketplace:browse"), {"ordering": ordering}).status_code == 200


def test_library_lists_acquired_apps(client_for, user, published):
    LibraryEntryFactory(user=user, app=published)
    html = client_for(user).get(reverse("marketplace:library")).content.decode()
    assert "Sentiment Pro" in html


def test_header_bell_shows_unread_count_and_mark_all_read(client_for, user):
    for index in range(3):
        notification_send(user=user, kind="test", message=f"Hello {index}")
    client = client_for(user)
    html = client.get(reverse("accounts:notifications")).content.decode()
    assert 'data-unread="3"' in html
    assert html.count("notification unread") == 3
    response = client.post(reverse("accounts:notifications_read"))
    assert response.status_code == 302
    html = client.get(reverse("accounts:notifications")).content.decode()
    assert "data-unread" not in html and "notification unread" not in html


def test_profile_of_unknown_user_is_404(client_for):
    assert client_for().get(reverse("accounts:profile", kwargs={"username": "nobody-here"})).status_code == 404


def test_profile_renders_bio_markdown_and_only_published_apps(client_for, developer):
    developer.bio = "I build **models**."
    developer.save()
    AppFactory(owner=developer, name="Public One")
    AppFactory(owner=developer, name="Secret Draft", status=AppStatus.DRAFT)
    html = client_for().get(reverse("accounts:profile", kwargs={"username": developer.username})).content.decode()
    assert "<strong>models</strong>" in html and "Public One" in html and "Secret Draft" not in html


def test_social_buttons_only_when_configured(client_for):
    html = client_for().get(reverse("account_login")).content.decode()
    assert "provider-github" not in html and "provider-google" not in html


def test_social_buttons_appear_when_keys_are_configured(client_for, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {"github": {"APP": {"client_id": "id", "secret": "s", "key": ""}}}
    html = client_for().get(reverse("account_login")).content.decode()
    assert "provider-github" in html and "Continue with GitHub" in html
    assert "provider-google" not in html


def test_not_found_page_is_the_styled_one(client_for):
    response = client_for().get("/apps/does-not-exist/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Page not found" in html and "topbar" in html
