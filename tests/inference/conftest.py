"""Tiny real models built once per test session, and helpers to publish them as app versions."""
import shutil
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from marketplace.models import AppStatus
from tests.factories import AppFactory, LibraryEntryFactory, UserFactory


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    """Real (randomly initialised or briefly trained) models, small enough for a 2-core CI box."""
    from inference.runtimes import demo_models as dm

    root = tmp_path_factory.mktemp("tiny-models")
    dm.build_tiny_bert(root / "classifier", labels=["negative", "positive"])
    dm.build_tiny_bert(root / "embedder")
    dm.build_causal_lm(root / "generator", lines=["Guard: Halt! Who goes there?", "Merchant: Fine silks for sale."] * 4,
                       hidden=32, layers=1)
    return {
        "classifier": dm.zip_folder(root / "classifier", root / "classifier.zip"),
        "embedder": dm.zip_folder(root / "embedder", root / "embedder.zip"),
        "generator": dm.zip_folder(root / "generator", root / "generator.zip"),
        "classifier_dir": root / "classifier",
        "embedder_dir": root / "embedder",
        "generator_dir": root / "generator",
    }


@pytest.fixture(scope="session")
def tiny_keras(tmp_path_factory) -> dict[str, Path]:
    from inference.runtimes import demo_models as dm

    root = tmp_path_factory.mktemp("tiny-keras")
    texts = ["profits rose strongly", "shares jumped on record sales", "the company cut jobs", "losses widened",
             "the meeting is on monday", "results are due next week"] * 3
    labels = ["positive", "positive", "negative", "negative", "neutral", "neutral"] * 3
    dm.build_keras_text_classifier(root / "text.keras", texts=texts, labels=labels, epochs=1)
    dm.build_keras_shape_cnn(root / "shapes.keras", per_class=6, epochs=1, size=16)
    return {"text": root / "text.keras", "shapes": root / "shapes.keras"}


def upload_file(path: Path, name: str | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name or path.name, path.read_bytes(), content_type="application/octet-stream")


def ready_version(app, path: Path, *, task: str, framework: str = "transformers", version: str = "1.0.0",
                  hardware: str = "cpu", **extra):
    """Upload through the service and validate in-process (the same service a worker runs)."""
    from inference.services import version_upload
    from inference.worker.validation import version_validate

    created = version_upload(app=app, actor=app.owner, artifact=upload_file(path), version=version, task=task,
                             framework=framework, hardware=hardware, **extra)
    return version_validate(version_id=created.pk)


@pytest.fixture
def eager_celery(transactional_db):
    """Run tasks in-process at commit time (transactional tests commit): API tests without a separate worker."""
    from config.celery import app

    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    # Not propagating: an eager retry raises Retry after running the retries inline, as a worker would log it.
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, False
    yield app
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


@pytest.fixture
def published_app(db):
    app = AppFactory(status=AppStatus.PUBLISHED)
    return app


@pytest.fixture
def runner(db, published_app):
    """An end user who has the app in their library."""
    person = UserFactory()
    LibraryEntryFactory(user=person, app=published_app)
    return person


@pytest.fixture(autouse=True)
def _model_dir(settings, tmp_path):
    settings.MODEL_DIR = str(tmp_path / "models")


def copy_tree(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst
