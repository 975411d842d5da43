"""A live platform for the developer tools: live_server + a real worker + real tiny models published as apps."""
from dataclasses import dataclass
from decimal import Decimal

import pytest

from marketplace.models import AppStatus
from tests.factories import AppFactory, LibraryEntryFactory, ModeratorFactory, PaidAppFactory, UserFactory
from tests.inference.conftest import ready_version, tiny_models  # noqa: F401 - session fixture re-used here


@dataclass
class Platform:
    url: str
    user: object
    key: str
    embedder: object
    generator: object
    classifier: object
    paid: object
    generator_zip: object


@pytest.fixture(autouse=True)
def _model_dir(settings, tmp_path):
    settings.MODEL_DIR = str(tmp_path / "models")


@pytest.fixture
def platform(live_server, celery_worker_factory, tiny_models, settings, monkeypatch) -> Platform:  # noqa: F811
    """Three free apps and one paid app with ready versions, a user who has them all, and their API key."""
    from accounts.services import api_key_create
    from billing.services import credit_grant

    settings.SITE_URL = live_server.url
    # Webhook receivers in these tests listen on 127.0.0.1: allowed here and in the worker (it reads the env).
    monkeypatch.setenv("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", "true")
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    celery_worker_factory(concurrency=1)  # every queue: inference, webhooks, validation, training
    user = UserFactory()
    embedder = AppFactory(slug="tiny-embedder", name="Tiny Embedder", status=AppStatus.PUBLISHED)
    generator = AppFactory(slug="tiny-writer", name="Tiny Writer", status=AppStatus.PUBLISHED)
    classifier = AppFactory(slug="tiny-sentiment", name="Tiny Sentiment", status=AppStatus.PUBLISHED)
    paid = PaidAppFactory(slug="tiny-paid", name="Tiny Paid", status=AppStatus.PUBLISHED)
    ready_version(embedder, tiny_models["embedder"], task="feature-extraction")
    ready_version(generator, tiny_models["generator"], task="text-generation")
    ready_version(classifier, tiny_models["classifier"], task="text-classification")
    ready_version(paid, tiny_models["classifier"], task="text-classification")
    for app in (embedder, generator, classifier, paid):
        LibraryEntryFactory(user=user, app=app)
    credit_grant(user=user, amount=Decimal("5.00"), memo="tests", granted_by=ModeratorFactory())
    key = api_key_create(user=user, name="devtools", scopes=["read", "predict", "publish"]).raw_key
    return Platform(url=live_server.url, user=user, key=key, embedder=embedder, generator=generator,
                    classifier=classifier, paid=paid,
                    generator_zip=tiny_models["generator"])
