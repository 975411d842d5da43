"""Demo content: realistic threads for each demo app, and a second run adds nothing."""
import io

import pytest

from community.demo import seed_demo
from community.models import ForumCategory, Thread
from tests.factories import AppFactory, DeveloperFactory, ModeratorFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_seed_is_idempotent():
    dev = DeveloperFactory(email="dev@modelmarket.local", username="dev")
    UserFactory(email="user@modelmarket.local", username="user")
    ModeratorFactory(email="mod@modelmarket.local", username="mod")
    for slug in ("faq-search", "finance-sentiment", "npc-dialogue", "shape-classifier"):
        AppFactory(slug=slug, owner=dev, name=slug.replace("-", " ").title())
    seed_demo(stdout=io.StringIO())
    count = Thread.objects.count()
    assert count >= 10
    for slug in ("faq-search", "finance-sentiment", "npc-dialogue", "shape-classifier"):
        category = ForumCategory.objects.get(app__slug=slug)
        assert category.threads.count() >= 2
    assert Thread.objects.filter(accepted_post__isnull=False).count() >= 4
    assert Thread.objects.filter(pinned=True, category__slug="announcements").exists()
    seed_demo(stdout=io.StringIO())
    assert Thread.objects.count() == count
