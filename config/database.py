"""The PostgreSQL connection options of `settings.DATABASES` (kept here so settings.py stays a list of values)."""
from typing import Any

from .env import env


def postgres_options() -> dict[str, Any]:
    """TCP timeouts, prepared statements and, where asked for, a connection pool (`DB_POOL_MAX_SIZE`)."""
    # A host whose link to the database dies must notice within seconds, not after the kernel's ~15 minute
    # retransmission limit: a worker's heartbeat (and its claims) would hang on the dead socket meanwhile.
    options: dict[str, Any] = {
        "connect_timeout": env.int("DB_CONNECT_TIMEOUT", default=10),
        "keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3,
        "tcp_user_timeout": env.int("DB_TCP_USER_TIMEOUT_MS", default=30000),
    }
    # Server-side parameters: psycopg prepares a statement after 5 runs, so PostgreSQL stops re-planning the few
    # statements of every call (a prediction create: 3.0 -> 1.5 ms of its CPU). Turn off behind a PgBouncer in
    # transaction mode without max_prepared_statements.
    if env.bool("DB_PREPARED_STATEMENTS", default=True):
        options.update({"server_side_binding": True, "prepare_threshold": 5})
    # A pool per process (psycopg_pool through Django): a web process has many threads (each `Prefer: wait`
    # caller holds one), but only this many connections; a waiting call gives its connection back while it
    # waits (`inference.services.prediction_wait`). Without it every thread kept a connection of its own, and
    # 2 processes x 64 threads ran PostgreSQL out of connections ("too many clients") at 256 clients.
    pool_size = env.int("DB_POOL_MAX_SIZE", default=0)
    if pool_size > 0:
        options["pool"] = {"min_size": min(4, pool_size), "max_size": pool_size,
                           "timeout": env.float("DB_POOL_TIMEOUT", default=10.0)}
    return options


def connection_give_back() -> None:
    """Before a long wait: a pooled connection goes back to its pool (a thread holding one idle would starve the
    process's other threads); the next query takes one again. Nothing to do without a pool or in a transaction."""
    from django.db import connection

    if connection.connection is None or connection.in_atomic_block or getattr(connection, "pool", None) is None:
        return
    connection.close()
