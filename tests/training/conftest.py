"""Training fixtures: tiny real models saved as real artifacts on ready app versions, and small datasets."""
import csv
import hashlib
import io
import json
import os
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.base import ContentFile

from marketplace.models import AppVersion, VersionStatus
from tests.factories import AppFactory, DeveloperFactory, ModeratorFactory

ROOT = Path(__file__).resolve().parents[2]
FINANCIAL_NEWS = ROOT / "inference" / "demo_data" / "financial_news.csv"


def small_rows(per_label: int = 12) -> list[tuple[str, str]]:
    """Real sentences from the shipped financial dataset, balanced across its labels."""
    counts: dict[str, int] = {}
    rows = []
    with open(FINANCIAL_NEWS, newline="", encoding="utf-8") as handle:
        for record in csv.DictReader(handle):
            if counts.get(record["label"], 0) < per_label:
                counts[record["label"]] = counts.get(record["label"], 0) + 1
                rows.append((record["text"], record["label"]))
    return rows


def csv_bytes(rows, header=("text", "label")) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def jsonl_bytes(rows) -> bytes:
    return "".join(json.dumps({"text": t, "label": label}) + "\n" for t, label in rows).encode("utf-8")


def _vocab() -> list[str]:
    """Whole words of the shipped dataset plus letters and digits, so the tiny tokenizer rarely says [UNK]."""
    import re

    words = set()
    with open(FINANCIAL_NEWS, newline="", encoding="utf-8") as handle:
        for record in csv.DictReader(handle):
            words.update(re.findall(r"[a-z]+", record["text"].lower()))
    return ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted(words), *[chr(c) for c in range(97, 123)],
            *[str(d) for d in range(10)], *[f"##{chr(c)}" for c in range(97, 123)], ".", ",", "%", "$", "-"]


def build_tiny_bert(folder: Path) -> Path:
    """A 2-layer, 32-wide BERT encoder with a real WordPiece tokenizer: the MiniLM shape, in miniature."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join(_vocab()) + "\n")
    tokenizer = BertTokenizerFast(vocab_file=str(vocab), do_lower_case=True)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(_vocab()), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128)
    BertModel(config).save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder


def build_tiny_keras(path: Path, labels: list[str]) -> Path:
    """A raw-text Keras classifier (TextVectorization inside), as Keras demo apps ship."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras

    keras.utils.set_random_seed(0)
    vectorize = keras.layers.TextVectorization(max_tokens=200, output_sequence_length=16)
    vectorize.adapt([text for text, _ in small_rows()])
    inputs = keras.Input(shape=(), dtype="string")
    x = vectorize(inputs)
    x = keras.layers.Embedding(200, 8)(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    outputs = keras.layers.Dense(len(labels), activation="softmax")(x)
    keras.Model(inputs, outputs).save(path)
    return path


def zip_folder(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


def ready_version(app, *, data: bytes, filename: str, framework: str, task: str, version: str = "1.0.0",
                  labels: list[str] | None = None) -> AppVersion:
    """A version as it is after a successful upload validation: artifact stored privately, status ready."""
    item = AppVersion(app=app, version=version, framework=framework, task=task, status=VersionStatus.READY,
                      sha256=hashlib.sha256(data).hexdigest(), size=len(data),
                      model_card={"labels": labels} if labels else {})
    item.artifact.save(filename, ContentFile(data), save=False)
    item.save()
    return item


@pytest.fixture(scope="session")
def tiny_bert_zip(tmp_path_factory) -> bytes:
    return zip_folder(build_tiny_bert(tmp_path_factory.mktemp("tiny-bert") / "model"))


@pytest.fixture(scope="session")
def tiny_keras_bytes(tmp_path_factory) -> bytes:
    path = build_tiny_keras(tmp_path_factory.mktemp("tiny-keras") / "model.keras", ["negative", "neutral", "positive"])
    return path.read_bytes()


@pytest.fixture
def trainer(db):
    """A developer with wallet credit: jobs hold their estimated price before they are queued."""
    from billing.services import credit_grant

    developer = DeveloperFactory()
    credit_grant(user=developer, amount=Decimal("50.00"), memo="training tests", granted_by=ModeratorFactory())
    return developer


@pytest.fixture
def bert_version(trainer, tiny_bert_zip):
    app = AppFactory(owner=trainer, slug="tiny-encoder", name="Tiny encoder")
    return ready_version(app, data=tiny_bert_zip, filename="model.zip", framework="transformers",
                         task="feature-extraction")


@pytest.fixture
def keras_version(trainer, tiny_keras_bytes):
    app = AppFactory(owner=trainer, slug="tiny-keras", name="Tiny keras")
    return ready_version(app, data=tiny_keras_bytes, filename="model.keras", framework="keras",
                         task="text-classification", labels=["negative", "neutral", "positive"])


@pytest.fixture
def dataset(trainer):
    from training.services import dataset_create

    return dataset_create(owner=trainer, file=ContentFile(csv_bytes(small_rows()), name="news.csv"))


