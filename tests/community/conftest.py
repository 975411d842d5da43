"""Forum fixtures: an app with its category, and Celery tasks run inline so notifications are observable."""
import pytest

from community import services
from community.models import ForumCategory
from tests.factories import AppFactory, UserFactory
from tests.helpers import celery_eager


@pytest.fixture(autouse=True)
def _eager_tasks():
    with celery_eager():
        yield


@pytest.fixture(autouse=True)
def _site_categories(db):
    """The data migration makes them, but transactional tests elsewhere flush the database."""
    services.site_categories_ensure()


@pytest.fixture(autouse=True)
def _fresh_cache():
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def forum_app(developer):
    app = AppFactory(owner=developer, slug="faq-search", name="FAQ Search")
    services.category_for_app_ensure(app=app)
    return app


@pytest.fixture
def app_category(forum_app) -> ForumCategory:
    return ForumCategory.objects.get(app=forum_app)


@pytest.fixture
def general(db) -> ForumCategory:
    return ForumCategory.objects.get(slug="general")


@pytest.fixture
def asker(db):
    return UserFactory(username="asker")


@pytest.fixture
def question(asker, app_category):
    return services.thread_create(author=asker, category=app_category, title="How do I batch requests?",
                                  body="I want to send many texts at once.", kind="question")


def reply(thread, author, body="Here is an answer that helps."):
    return services.post_create(author=author, thread=thread, body=body)
