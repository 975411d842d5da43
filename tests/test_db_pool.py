"""A web process with many threads and few PostgreSQL connections (config.database, `DB_POOL_MAX_SIZE`).

In a fresh interpreter on its own database: 24 threads each make a prediction with `Prefer: wait=2` and no
worker, so every call waits its 2 s out. With a pool of 3 the database never sees more than 3 connections of
the process and every call is answered (202); without one, each waiting thread keeps a connection of its own
(what ran PostgreSQL out of connections at 256 clients in the serving benchmark)."""
import json
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from urllib.parse import urlparse

import psycopg

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent("""
    import json, sys, threading, time, django
    django.setup()
    from django.core.management import call_command
    call_command("migrate", verbosity=0)
    import psycopg
    from django.conf import settings
    from django.db import close_old_connections
    from django.test import Client
    from accounts.services import api_key_create
    from marketplace.models import AppVersion
    from tests.factories import AppFactory, AppVersionFactory, LibraryEntryFactory, UserFactory

    app = AppFactory(status="published")
    AppVersionFactory(app=app, status="ready", task="text-classification")
    keys = []
    for n in range(24):
        user = UserFactory()
        LibraryEntryFactory(user=user, app=app)
        keys.append(api_key_create(user=user, name="k", scopes=["read", "predict"]).raw_key)
    from django.db import connection
    connection.close()
    codes, errors = [], []

    def call(key):
        answer = Client(HTTP_AUTHORIZATION=f"Bearer {key}").post(
            f"/api/v1/apps/{app.slug}/predictions/", {"input": {"text": "hi"}}, content_type="application/json",
            HTTP_PREFER="wait=2")
        codes.append(answer.status_code)
        close_old_connections()  # what request_finished does in a server (the test client leaves it out)
        if answer.status_code != 202:
            errors.append(answer.content.decode()[:300])

    threads = [threading.Thread(target=call, args=(key,)) for key in keys]
    for thread in threads:
        thread.start()
    most = 0
    db = settings.DATABASES["default"]
    with psycopg.connect(host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], dbname="postgres",
                         autocommit=True) as watcher:
        while any(thread.is_alive() for thread in threads):
            (count,) = watcher.execute("select count(*) from pg_stat_activity where datname = %s",
                                       [db["NAME"]]).fetchone()
            most = max(most, count)
            time.sleep(0.05)
    exhausted = None
    if settings.DATABASES["default"]["OPTIONS"].get("pool"):
        # Every connection of the pool held elsewhere: a call is answered 503 with Retry-After, not a 500.
        hold, release = threading.Barrier(4), threading.Event()

        def keep():
            connection.ensure_connection()
            hold.wait()
            release.wait()
            connection.close()

        holders = [threading.Thread(target=keep) for _ in range(3)]
        for thread in holders:
            thread.start()
        hold.wait()
        answer = Client(HTTP_AUTHORIZATION=f"Bearer {keys[0]}").get(f"/api/v1/apps/{app.slug}/")
        exhausted = [answer.status_code, answer.headers.get("Retry-After"), answer.json()["error"]["code"]]
        release.set()
    print("RESULT " + json.dumps({"codes": sorted(codes), "most_connections": most, "errors": errors[:3],
                                  "exhausted": exhausted}))
""")


def _run(pool_size: int) -> dict:
    base = urlparse(os.environ["DATABASE_URL"])
    name = f"modelmarket_pool_{uuid.uuid4().hex[:8]}"
    admin = f"postgresql://{base.username or 'postgres'}@{base.hostname}:{base.port or 5432}/postgres"
    broker = urlparse(os.environ["CELERY_BROKER_URL"])._replace(path="/13").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    try:
        env = {
            "PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "true",
            "ALLOWED_HOSTS": "testserver", "DATABASE_URL": base._replace(path=f"/{name}").geturl(),
            "CELERY_BROKER_URL": broker, "CACHE_URL": broker, "DB_CONN_MAX_AGE": "600",
            "DB_POOL_MAX_SIZE": str(pool_size), "DB_POOL_TIMEOUT": "4", "API_KEY_RATE": "100000/min",
            "HF_HUB_OFFLINE": "1", "MODELMARKET_VAR_DIR": str(ROOT / "var" / name),
        }
        result = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
                                timeout=300)
        assert "RESULT " in result.stdout, result.stdout[-2000:] + result.stderr[-4000:]
        return json.loads(result.stdout.split("RESULT ", 1)[1])
    finally:
        import redis

        redis.Redis.from_url(broker).flushdb()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


def test_a_pool_of_three_serves_24_waiting_calls_with_three_connections():
    pooled = _run(3)
    assert pooled["codes"] == [202] * 24, pooled
    assert pooled["most_connections"] <= 3, pooled
    assert pooled["exhausted"] == [503, "1", "unavailable"], pooled
    # The same calls without a pool: a connection per waiting thread.
    unpooled = _run(0)
    assert unpooled["codes"] == [202] * 24, unpooled
    assert unpooled["most_connections"] >= 20, unpooled
