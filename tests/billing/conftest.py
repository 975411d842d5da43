"""Billing fixtures: funded users, real Prediction rows, the fake Stripe server, eager Celery."""
from decimal import Decimal

import pytest
from django.db import transaction

from billing import services
from inference.models import Prediction
from tests.factories import AppVersionFactory, PaidAppFactory, UserFactory
from tests.fakestripe import FakeStripe
from tests.helpers import celery_eager


def fund(user, amount, memo="test credits"):
    """Credit a wallet through the real grant service (no moderator: a system grant)."""
    return services.credit_grant(user=user, amount=Decimal(amount), memo=memo, granted_by=None)


def new_prediction(user, app, *, api_key=None, hardware="cpu") -> Prediction:
    version = app.versions.first() or AppVersionFactory(app=app, status="ready")
    return Prediction.objects.create(app=app, version=version, user=user, api_key=api_key, input={"text": "hi"},
                                     hardware=hardware)


def admit(user, app, **kwargs) -> Prediction:
    """What inference does: create the Prediction and admit it in ONE transaction (402 rolls back)."""
    api_key = kwargs.pop("api_key", None)
    with transaction.atomic():
        prediction = new_prediction(user, app, api_key=api_key)
        admission = services.prediction_admit(prediction=prediction, **kwargs)
        prediction.price = admission.price
        prediction.save(update_fields=["price"])
    return prediction


def finish(prediction: Prediction, *, seconds="1.5", ok=True) -> Prediction:
    with transaction.atomic():
        prediction.compute_seconds = Decimal(seconds)
        prediction.status = "succeeded" if ok else "failed"
        prediction.save(update_fields=["compute_seconds", "status"])
        if ok:
            services.prediction_settle(prediction=prediction)
        else:
            services.prediction_release(prediction=prediction)
    return prediction


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Factories hash a password per user; billing tests make many users and never log in with them."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def paid_app(db):
    app = PaidAppFactory(base_price=Decimal("0.010000"), k=Decimal("0.001000"), max_price=Decimal("0.050000"))
    AppVersionFactory(app=app, status="ready")
    return app


@pytest.fixture
def buyer(db):
    return UserFactory()


@pytest.fixture
def fake_stripe(settings):
    server = FakeStripe(webhook_secret="whsec_test_fake").start()
    settings.STRIPE_SECRET_KEY = "sk_test_fake"
    settings.STRIPE_WEBHOOK_SECRET = server.webhook_secret
    settings.STRIPE_API_BASE = server.base_url
    yield server
    server.stop()


@pytest.fixture
def eager_celery():
    """Run tasks in-process (after commit, as queued), so webhook processing is observable in a test."""
    with celery_eager() as app:
        yield app
