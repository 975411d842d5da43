"""Billing throughput and overhead on PostgreSQL: holds + settlements per second with 16 concurrent clients,
and the p50 latency that charging adds to creating (admitting) and finishing (settling) a prediction.

Usage: DATABASE_URL=postgres://... .venv/bin/python bench/billing.py [--clients 16] [--seconds 10]
It creates a throw-away test database (test_<name>) and drops it afterwards.
"""
import argparse
import multiprocessing
import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import django  # noqa: E402

django.setup()

from django.db import connection, connections, transaction  # noqa: E402


def _setup(n_users: int):
    from billing import services
    from tests.factories import AppVersionFactory, PaidAppFactory, UserFactory

    app = PaidAppFactory(base_price=Decimal("0.001000"), k=Decimal("0"), max_price=Decimal("0.001"))
    version = AppVersionFactory(app=app, status="ready")
    users = [UserFactory() for _ in range(n_users)]
    for user in users:
        services.credit_grant(user=user, amount=Decimal("100000"), memo="bench", granted_by=None)
    return app, version, users


def _prediction(user, app, version):
    from inference.models import Prediction

    return Prediction.objects.create(app=app, version=version, user=user, input={"text": "x"}, hardware="cpu")


def _client(app_id: int, version_id: int, user_id: int, stop_at: float, results) -> None:
    """One client process (no shared GIL): loop create+admit (hold) in one transaction, settle in another."""
    from accounts.models import User
    from billing import services
    from marketplace.models import App, AppVersion

    connections.close_all()  # never reuse the parent's socket after fork
    app, version, user = App.objects.get(pk=app_id), AppVersion.objects.get(pk=version_id), User.objects.get(pk=user_id)
    latencies = []
    while time.time() < stop_at:
        start = time.perf_counter()
        with transaction.atomic():
            prediction = _prediction(user, app, version)
            services.prediction_admit(prediction=prediction)
        prediction.compute_seconds = Decimal("0.05")
        with transaction.atomic():
            services.prediction_settle(prediction=prediction)
        latencies.append((time.perf_counter() - start) * 1000)
    connections.close_all()
    results.put(latencies)


def run_clients(app, version, users, clients: int, seconds: float, shared: bool) -> tuple[int, list[float]]:
    """`clients` processes hammer the ledger at once, each with its own database connection."""
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    connections.close_all()
    stop_at = time.time() + seconds + 1.0  # the extra second covers process start-up
    processes = [context.Process(target=_client, args=(app.pk, version.pk, (users[0] if shared else
                                                                           users[i % len(users)]).pk, stop_at, results))
                 for i in range(clients)]
    for process in processes:
        process.start()
    latencies: list[float] = []
    for _ in processes:
        latencies.extend(results.get(timeout=seconds + 120))
    for process in processes:
        process.join()
    return len(latencies), latencies


def overhead(app, version, user, n: int) -> tuple[float, float, float, float]:
    """p50 of creating a prediction without and with admission, and of finishing it without and with settlement."""
    from billing import services

    bare_create, paid_create, bare_finish, paid_finish = [], [], [], []
    for i in range(n):
        start = time.perf_counter()
        with transaction.atomic():
            prediction = _prediction(user, app, version)
            if i % 2:
                services.prediction_admit(prediction=prediction)
        (paid_create if i % 2 else bare_create).append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        with transaction.atomic():
            prediction.status = "succeeded"
            prediction.compute_seconds = Decimal("0.05")
            prediction.save(update_fields=["status", "compute_seconds"])
            if i % 2:
                services.prediction_settle(prediction=prediction)
        (paid_finish if i % 2 else bare_finish).append((time.perf_counter() - start) * 1000)
    med = statistics.median
    return med(bare_create), med(paid_create), med(bare_finish), med(paid_finish)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--samples", type=int, default=400)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        print("Set DATABASE_URL to a PostgreSQL database: this benchmark measures row locks there.")
        sys.exit(2)
    test_db = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        app, version, users = _setup(args.clients)
        rows = []
        for label, shared in (("16 users, one each", False), ("1 shared wallet", True)):
            ops, latencies = run_clients(app, version, users, args.clients, args.seconds, shared)
            latencies.sort()
            rows.append((label.replace("16", str(args.clients)), ops / (args.seconds + 1.0),
                         statistics.median(latencies), latencies[int(len(latencies) * 0.99) - 1]))
        from billing.selectors import ledger_check

        report = ledger_check()
        bare_c, paid_c, bare_f, paid_f = overhead(app, version, users[0], args.samples)
        print(f"\nBilling on PostgreSQL ({connection.settings_dict['NAME']}), {args.clients} concurrent clients, "
              f"{args.seconds:.0f} s each\n")
        print(f"{'scenario':<22} {'hold+settle/s':>14} {'p50 ms':>9} {'p99 ms':>9}")
        print("-" * 57)
        for label, rate, p50, p99 in rows:
            print(f"{label:<22} {rate:>14.1f} {p50:>9.2f} {p99:>9.2f}")
        print(f"\n{'step (p50, 1 client)':<34} {'without':>9} {'with':>9} {'added':>9}")
        print("-" * 64)
        print(f"{'create prediction (+ admit/hold)':<34} {bare_c:>9.2f} {paid_c:>9.2f} {paid_c - bare_c:>9.2f}")
        print(f"{'finish prediction (+ settle, cost)':<34} {bare_f:>9.2f} {paid_f:>9.2f} {paid_f - bare_f:>9.2f}")
        print(f"{'total charging overhead':<34} {'':>9} {'':>9} {paid_c - bare_c + paid_f - bare_f:>9.2f}")
        print(f"\nLedger after the run: {report.transactions} transactions, "
              f"{'balanced' if report.ok else 'NOT balanced: ' + '; '.join(report.problems[:3])}")
    finally:
        connections.close_all()
        connection.creation.destroy_test_db(test_db, verbosity=0)


if __name__ == "__main__":
    main()
