"""Run by the multi-host test against its own PostgreSQL (DATABASE_URL): `setup` makes a paid app on a real
model and 32 paying users with API keys; `report` answers what happened to every prediction and the books.

    python tests/multihost/world.py setup <model-dir>  → JSON {"app": slug, "keys": [...]}
    python tests/multihost/world.py report             → JSON {statuses, settlements per prediction, ledger}
"""
import json
import os
import sys
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()


def setup(model_dir: Path) -> dict:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from accounts.services import api_key_create
    from billing.services import credit_grant
    from inference.runtimes import demo_models as dm
    from inference.services import version_upload
    from inference.worker.validation import version_validate
    from tests.factories import LibraryEntryFactory, PaidAppFactory, UserFactory

    words = ["the quarterly results beat every forecast", "and the shares rose sharply after the call"]
    folder = dm.build_tiny_bert(model_dir / "classifier", labels=["negative", "positive"],
                                texts=[" ".join(words)], hidden=384, layers=12, max_positions=512)
    archive = dm.zip_folder(folder, model_dir / "classifier.zip")
    app = PaidAppFactory(slug="multihost-sentiment", name="Multihost Sentiment")
    upload = SimpleUploadedFile("classifier.zip", archive.read_bytes(), content_type="application/zip")
    # One item per forward pass: each prediction costs the worker's CPU the same, so the throughput figure
    # measures worker hosts, not batching luck.
    version = version_upload(app=app, actor=app.owner, artifact=upload, version="1.0.0", task="text-classification",
                             framework="transformers", max_batch_size=1, max_wait_ms=0)
    version = version_validate(version_id=version.pk)
    assert version.status == "ready", version.error
    keys = []
    for n in range(32):
        user = UserFactory(email=f"client{n}@multihost.test", username=f"client{n}")
        LibraryEntryFactory(user=user, app=app)
        credit_grant(user=user, amount=Decimal("1000.00"), memo="multi-host test", granted_by=None)
        keys.append(api_key_create(user=user, name="load", scopes=["read", "predict"]).raw_key)
    return {"app": app.slug, "keys": keys}


def report() -> dict:
    from django.db.models import Count

    from billing.models import Transaction
    from billing.selectors import ledger_check
    from inference.models import Prediction

    statuses = dict(Prediction.objects.values_list("status").annotate(n=Count("id")))
    settles = dict(Transaction.objects.filter(kind="settle").values_list("prediction_id").annotate(n=Count("id")))
    succeeded = set(map(str, Prediction.objects.filter(status="succeeded").values_list("id", flat=True)))
    check = ledger_check()
    workers = dict(Prediction.objects.values_list("worker").annotate(n=Count("id")))
    hosts: dict[str, int] = {}
    for worker, count in workers.items():
        host = worker.split("@")[-1].split(" ")[0] if worker else "(none)"
        hosts[host] = hosts.get(host, 0) + count
    return {
        "statuses": statuses,
        "succeeded": len(succeeded),
        "charged_more_than_once": sorted(pid for pid, n in settles.items() if n > 1),
        "succeeded_not_charged": sorted(succeeded - set(settles)),
        "charged_not_succeeded": sorted(set(settles) - succeeded),
        "restarted": Prediction.objects.filter(attempts__gt=1).count(),
        "ledger_ok": check.ok, "ledger_problems": check.problems[:5],
        "by_host": hosts,
        "unfinished": [
            {"id": str(p.id), "status": p.status, "worker": p.worker, "attempts": p.attempts,
             "created_at": p.created_at.isoformat(), "started_at": p.started_at and p.started_at.isoformat()}
            for p in Prediction.objects.exclude(status__in=["succeeded", "failed", "canceled"])[:20]],
    }


if __name__ == "__main__":
    command = sys.argv[1]
    result = setup(Path(sys.argv[2])) if command == "setup" else report()
    print("RESULT " + json.dumps(result, default=str))
