"""Waking `Prefer: wait` callers (inference/notify.py): one BLMOVE per wait, every waiter of a prediction woken."""
import threading
import time
import uuid

import pytest

from inference.notify import _redis, notify_done, notify_done_many, wait_done
from tests.helpers import redis_commands_sent


@pytest.fixture
def client():
    redis = _redis()
    assert redis is not None, "the tests run with a Redis broker (CELERY_BROKER_URL)"
    return redis


def test_a_finished_prediction_wakes_every_waiter_at_once(client):
    prediction_id = uuid.uuid4()
    notify_done(prediction_id)
    started = time.monotonic()
    assert wait_done(prediction_id, 5) is True
    assert wait_done(prediction_id, 5) is True  # the mark stays for the same prediction's other waiters
    assert time.monotonic() - started < 1
    assert client.ttl(f"modelmarket:prediction-done:{prediction_id}") > 0  # it still expires on its own


def test_a_wait_ends_when_the_worker_notifies(client):
    ids = [uuid.uuid4() for _ in range(3)]
    answers = {}

    def wait(prediction_id):
        answers[prediction_id] = wait_done(prediction_id, 10)

    threads = [threading.Thread(target=wait, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    time.sleep(0.2)
    started = time.monotonic()
    notify_done_many(ids)
    for thread in threads:
        thread.join(5)
    assert answers == {i: True for i in ids} and time.monotonic() - started < 2


def test_an_unfinished_prediction_times_out(client):
    started = time.monotonic()
    assert wait_done(uuid.uuid4(), 0.3) is False
    assert 0.25 < time.monotonic() - started < 2


def test_one_round_trip_per_wait(client, monkeypatch):
    prediction_id = uuid.uuid4()
    notify_done(prediction_id)
    sent = redis_commands_sent(client, monkeypatch)
    assert wait_done(prediction_id, 1) is True
    assert sent == ["BLMOVE"]
