"""Predictions whose broker message was lost are re-sent by the workers (inference/worker/recovery.py)."""
from datetime import timedelta

import pytest
from django.utils import timezone

from inference.models import Prediction
from inference.worker.recovery import predictions_requeue_lost
from tests.factories import AppVersionFactory, PaidAppFactory, UserFactory

pytestmark = pytest.mark.django_db


def _lists(client, name: str) -> list:
    """The queue's Redis list and its priority lists (kombu keeps one list per priority level)."""
    return [name, *client.keys(name + "\x06\x16*")]


def _queue_length(name: str) -> int:
    from config.celery import app

    with app.connection_for_write() as connection:
        client = connection.default_channel.client
        return sum(client.llen(key) for key in _lists(client, name))


def _purge(name: str) -> None:
    from config.celery import app

    with app.connection_for_write() as connection:
        client = connection.default_channel.client
        client.delete(*_lists(client, name))


def test_only_predictions_queued_too_long_are_resent_once_per_window(settings):
    settings.PREDICTION_REQUEUE_AFTER_SECONDS = 30
    app = PaidAppFactory()
    version = AppVersionFactory(app=app, status="ready")
    user = UserFactory()
    old = Prediction.objects.create(app=app, version=version, user=user, input={"text": "lost"})
    fresh = Prediction.objects.create(app=app, version=version, user=user, input={"text": "just sent"})
    done = Prediction.objects.create(app=app, version=version, user=user, input={"text": "done"}, status="succeeded")
    Prediction.objects.filter(pk__in=[old.pk, done.pk]).update(created_at=timezone.now() - timedelta(minutes=5))
    _purge("inference-cpu")
    try:
        assert predictions_requeue_lost() == 1
        assert _queue_length("inference-cpu") == 1  # a real message for the old one, nothing for the others
        assert predictions_requeue_lost() == 0  # the same window: not re-sent again by another worker
    finally:
        _purge("inference-cpu")
    assert fresh.status == "queued"
