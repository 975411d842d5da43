"""Small helpers shared by several test packages."""
import time
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def celery_eager(*, propagates: bool = True) -> Iterator:
    """Run Celery tasks in-process (on commit, as queued) and restore the app's settings afterwards.

    `propagates=False` keeps a failing task from turning a web request into a 500, as a real worker would.
    """
    from config.celery import app

    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, propagates
    try:
        yield app
    finally:
        app.conf.task_always_eager, app.conf.task_eager_propagates = previous


def wait_until(condition, timeout: float = 180.0, every: float = 0.02):
    """Poll `condition` until it returns something truthy (returned), or fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(every)
    raise AssertionError("timed out")


def redis_commands_sent(client, monkeypatch) -> list[str]:
    """The names of the commands a redis-py client sends from now on (the test's monkeypatch undoes it)."""
    sent: list[str] = []
    original = type(client).execute_command

    def counting(self, *args, **options):
        sent.append(args[0])
        return original(self, *args, **options)

    monkeypatch.setattr(type(client), "execute_command", counting)
    return sent
