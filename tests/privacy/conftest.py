"""Privacy fixtures: apps with a ready version (metadata only), finished predictions, eager Celery."""
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from inference.models import Prediction, PredictionStatus
from tests.factories import AppFactory, AppVersionFactory, LibraryEntryFactory, UserFactory
from tests.helpers import celery_eager


@pytest.fixture
def app(db):
    app = AppFactory()
    AppVersionFactory(app=app, version="1.0.0", status="ready", task="text-classification")
    return app


@pytest.fixture
def caller(db, app):
    person = UserFactory()
    LibraryEntryFactory(user=person, app=app)
    return person


def finished(app, user, *, text="my secret diary", output=None, store=True, days_ago=0, **extra) -> Prediction:
    """A succeeded prediction, as the worker leaves it (output written, completed `days_ago` days ago)."""
    completed = timezone.now() - timezone.timedelta(days=days_ago)
    return Prediction.objects.create(
        app=app, version=app.versions.get(), user=user, input={"text": text},
        output=output if output is not None else {"labels": [{"label": "positive", "score": 0.9}]},
        status=PredictionStatus.SUCCEEDED, completed_at=completed, started_at=completed, store=store,
        price=Decimal("0.010000"), metrics={"queue_ms": 1.0, "predict_ms": 2.0, "batch_size": 1}, **extra)


def raw_columns(prediction) -> tuple:
    """What the database holds for input and output, read past the ORM."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT input, output FROM inference_prediction WHERE id = %s", [prediction.pk])
        return cursor.fetchone()


@pytest.fixture
def eager():
    """Tasks run in-process when queued (wrap the code in `django_capture_on_commit_callbacks(execute=True)`)."""
    with celery_eager() as celery_app:
        yield celery_app
