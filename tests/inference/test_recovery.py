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
    """Celery's lists and the Redis dispatch's lists: a re-sent prediction lands in one of them."""
    from config.celery import app
    from inference.dispatch import dispatch_waiting

    with app.connection_for_write() as connection:
        client = connection.default_channel.client
        return sum(client.llen(key) for key in _lists(client, name)) + dispatch_waiting(client, [name])[name]


def _purge(name: str) -> None:
    from config.celery import app
    from inference.dispatch import queue_keys

    with app.connection_for_write() as connection:
        client = connection.default_channel.client
        client.delete(*_lists(client, name), *queue_keys(name))


def test_the_redis_dispatch_receives_the_resent_message(settings):
    """With a Redis broker a lost prediction is re-sent as a dispatch message (no Celery task)."""
    from inference.dispatch import Message, dispatch_mode, queue_keys
    from inference.notify import broker_redis

    settings.PREDICTION_DISPATCH = "auto"
    assert dispatch_mode() == "redis"
    version = AppVersionFactory(app=PaidAppFactory(), status="ready")
    lost = Prediction.objects.create(app=version.app, version=version, user=UserFactory(), input={"text": "x"},
                                     price=1)
    Prediction.objects.filter(pk=lost.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    _purge("inference-cpu")
    try:
        assert predictions_requeue_lost() == 1
        high, low = queue_keys("inference-cpu")
        assert broker_redis().llen(low) == 0  # paid: the list served first
        message = Message.decode(broker_redis().lindex(high, 0))
        assert (message.prediction_id, message.version_id, message.high) == (str(lost.pk), version.pk, True)
    finally:
        _purge("inference-cpu")


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


def test_claimed_predictions_past_their_time_limit_are_resent_once_per_window(settings):
    """A claimed row nobody will finish (its message acknowledged, its holder gone) is run again; one still
    inside its version's limit plus the grace is left to the worker running it."""
    settings.PREDICTION_REQUEUE_AFTER_SECONDS = 30
    app = PaidAppFactory()
    version = AppVersionFactory(app=app, status="ready", soft_time_limit=60)
    user = UserFactory()
    now = timezone.now()
    orphaned = Prediction.objects.create(app=app, version=version, user=user, input={"text": "orphaned"},
                                         status="processing", started_at=now - timedelta(seconds=91), attempts=1)
    loading = Prediction.objects.create(app=app, version=version, user=user, input={"text": "cold model"},
                                        status="starting", started_at=now - timedelta(seconds=95), attempts=1)
    running = Prediction.objects.create(app=app, version=version, user=user, input={"text": "within its limit"},
                                        status="processing", started_at=now - timedelta(seconds=80), attempts=1)
    Prediction.objects.filter(pk__in=[orphaned.pk, loading.pk, running.pk]).update(
        created_at=now - timedelta(minutes=5))
    _purge("inference-cpu")
    try:
        assert predictions_requeue_lost(now=now) == 2
        assert _queue_length("inference-cpu") == 2  # the two past 60 + 30 s; the one at 80 s is left alone
        assert predictions_requeue_lost(now=now + timedelta(seconds=60)) == 1  # `running` is now past it too
        assert predictions_requeue_lost(now=now + timedelta(seconds=80)) == 0  # each once per limit + grace
    finally:
        _purge("inference-cpu")
