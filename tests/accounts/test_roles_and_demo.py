"""A fresh `migrate` has the Moderators group; `seed_demo` gives working demo logins, twice over."""
import io

import pytest
from django.contrib.auth.models import Group

from accounts import demo as accounts_demo
from accounts.models import MODERATORS_GROUP, User
from marketplace import demo as marketplace_demo
from marketplace.models import App, AppStatus, AppVersion, Review

pytestmark = pytest.mark.django_db

FIXED = {"faq-search": "customer-service", "finance-sentiment": "finance", "npc-dialogue": "games",
         "shape-classifier": "education"}


def test_migrations_create_the_moderators_group_with_its_permissions():
    group = Group.objects.get(name=MODERATORS_GROUP)
    codenames = set(group.permissions.values_list("codename", flat=True))
    assert {"view_app", "review_app", "view_appreviewqueue", "view_auditlog", "view_user"} <= codenames
    assert not {"delete_user", "change_user", "add_user", "change_app", "delete_app", "delete_auditlog"} & codenames


def _seed() -> str:
    out = io.StringIO()
    accounts_demo.seed_demo(stdout=out)
    marketplace_demo.seed_demo(stdout=out)
    return out.getvalue()


def test_seed_demo_is_idempotent_and_prints_working_logins(client):
    first = _seed()
    counts = (User.objects.count(), App.objects.count(), AppVersion.objects.count(), Review.objects.count())
    second = _seed()
    assert counts == (User.objects.count(), App.objects.count(), AppVersion.objects.count(), Review.objects.count())
    for email, password in [("dev@modelmarket.local", "demo-pass-123"), ("user@modelmarket.local", "demo-pass-123"),
                            ("mod@modelmarket.local", "demo-pass-123"), ("admin@modelmarket.local", "admin-pass-123")]:
        assert email in first and email in second and password in first
        assert client.login(email=email, password=password), email
        client.logout()

    assert User.objects.get(email="dev@modelmarket.local").is_developer
    assert User.objects.get(email="admin@modelmarket.local").is_superuser


def test_seed_demo_store_has_the_fixed_apps_a_draft_and_reviews():
    _seed()
    for slug, category in FIXED.items():
        app = App.objects.get(slug=slug)
        assert app.status == AppStatus.PUBLISHED and app.category.slug == category
        assert app.versions.filter(version="1.0.0").exists() and app.tags.exists() and app.description
        assert not app.versions.get(version="1.0.0").artifact  # models are attached by the inference demo
    finance = App.objects.get(slug="finance-sentiment")
    assert (finance.pricing_model, str(finance.base_price), str(finance.k), finance.window_seconds,
            str(finance.max_price), finance.free_calls_per_month) == (
        "per_call", "0.002000", "0.000100", 3600, "0.010000", 20)
    published = App.objects.published()
    assert published.count() >= 7
    assert {"healthcare", "recommendation", "other"} <= set(published.values_list("category__slug", flat=True))
    assert App.objects.filter(status=AppStatus.DRAFT).exists()
    assert Review.objects.count() >= 3
    for app in published:
        assert app.rating_sum == sum(app.reviews.values_list("rating", flat=True))


def test_the_demo_moderator_can_use_the_queue_but_not_delete_users(client):
    _seed()
    App.objects.filter(slug="essay-feedback").update(status=AppStatus.IN_REVIEW)
    assert client.login(email="mod@modelmarket.local", password="demo-pass-123")
    queue = client.get("/admin/marketplace/appreviewqueue/")
    assert queue.status_code == 200 and "Essay Feedback" in queue.content.decode()
    developer = User.objects.get(email="dev@modelmarket.local")
    assert client.get(f"/admin/accounts/user/{developer.pk}/delete/").status_code == 403
    assert client.get("/admin/auth/group/").status_code == 403
