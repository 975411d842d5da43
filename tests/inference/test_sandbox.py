"""Untrusted models: refused by size before allocation, first loaded in a sandbox with memory and time limits."""
import json
import os
import shutil
import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from inference.artifacts import cache_evict, estimate_parameters, prepare_local
from inference.runtimes import demo_models as dm
from marketplace.models import AppVersion, VersionStatus

from .conftest import ready_version


def _huge_config_zip(tiny_models, tmp_path: Path) -> Path:
    """The tiny classifier's real (tiny) weights, next to a config.json describing a ~40B-parameter network."""
    folder = shutil.copytree(tiny_models["classifier_dir"], tmp_path / "huge")
    config = json.loads((folder / "config.json").read_text())
    config.update({"hidden_size": 8192, "num_hidden_layers": 56, "intermediate_size": 28672, "vocab_size": 32000,
                   "num_attention_heads": 64})
    (folder / "config.json").write_text(json.dumps(config))
    return dm.zip_folder(folder, tmp_path / "huge.zip")


def _wait(condition, timeout: float = 180.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


def test_the_estimate_is_close_for_a_real_model_and_large_for_the_huge_config(tiny_models, tmp_path):
    config = json.loads((tiny_models["classifier_dir"] / "config.json").read_text())
    from transformers import AutoModelForSequenceClassification

    real = sum(p.numel() for p in AutoModelForSequenceClassification.from_pretrained(
        tiny_models["classifier_dir"]).parameters())
    assert real / 3 < estimate_parameters(config) < real * 3
    huge = json.loads(_huge_config_zip(tiny_models, tmp_path).parent.joinpath("huge", "config.json").read_text())
    assert estimate_parameters(huge) > 35_000_000_000


def test_a_40b_config_next_to_tiny_weights_ends_invalid_and_the_worker_lives(
        celery_worker_factory, published_app, tiny_models, tmp_path):
    worker = celery_worker_factory(queues="validation", concurrency=1)
    owner = APIClient()
    owner.force_authenticate(published_app.owner)

    def upload(path: Path, version: str):
        response = owner.post(f"/api/v1/apps/{published_app.slug}/versions/", {
            "artifact": SimpleUploadedFile("model.zip", path.read_bytes()), "version": version,
            "task": "text-classification", "framework": "transformers"}, format="multipart")
        assert response.status_code == 201, response.content
        return _wait(lambda: AppVersion.objects.filter(app=published_app, version=version,
                                                       status__in=["ready", "invalid"]).first())

    huge = upload(_huge_config_zip(tiny_models, tmp_path), "1.0.0")
    assert huge.status == VersionStatus.INVALID
    assert "parameters" in huge.error and "at most" in huge.error, huge.error
    assert worker.proc.poll() is None  # the worker lives ...
    fine = upload(tiny_models["classifier"], "1.0.1")  # ... and validates the next upload
    assert fine.status == VersionStatus.READY, fine.error
    assert fine.metrics["parameters"] > 0


@pytest.mark.django_db
def test_a_model_over_the_memory_ceiling_ends_invalid(published_app, tiny_models, settings):
    settings.VALIDATION_MEMORY_BYTES = 16 * 1024 * 1024
    version = ready_version(published_app, tiny_models["classifier"], task="text-classification")
    assert version.status == VersionStatus.INVALID
    assert "memory" in version.error, version.error
    # The same model with the default ceiling is fine: it was the limit, not the model.
    settings.VALIDATION_MEMORY_BYTES = 6 * 1024**3
    again = ready_version(published_app, tiny_models["classifier"], task="text-classification", version="1.0.1")
    assert again.status == VersionStatus.READY, again.error


@pytest.mark.django_db
def test_a_model_past_the_time_limit_ends_invalid(published_app, tiny_models, settings):
    settings.VALIDATION_TIMEOUT_SECONDS = 0.01
    started = time.monotonic()
    version = ready_version(published_app, tiny_models["generator"], task="text-generation")
    assert version.status == VersionStatus.INVALID and "longer than" in version.error, version.error
    assert time.monotonic() - started < 30


def test_the_unpacked_cache_evicts_the_least_recently_used(tiny_models, tmp_path, settings):
    import hashlib

    root = tmp_path / "cache"
    paths = {}
    for name in ("classifier", "embedder", "generator"):
        data = tiny_models[name].read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        with open(tiny_models[name], "rb") as source:
            paths[name] = (sha, prepare_local(source=source, sha256=sha, framework="transformers", cache_root=root))
    # Make classifier the oldest, then use generator and embedder recently.
    old = time.time() - 3600
    for offset, name in enumerate(("classifier", "embedder", "generator")):
        os.utime(root / paths[name][0] / ".ready", (old + offset, old + offset))
    sizes = {name: sum(p.stat().st_size for p in (root / sha).rglob("*") if p.is_file())
             for name, (sha, _path) in paths.items()}
    budget = sizes["embedder"] + sizes["generator"] + 1
    removed = cache_evict(root, max_bytes=budget)
    assert removed == [paths["classifier"][0]]
    assert not (root / paths["classifier"][0]).exists() and (root / paths["generator"][0] / ".ready").exists()
    # A cache hit refreshes an entry's age, so it is not the next to go.
    with open(tiny_models["embedder"], "rb") as source:
        prepare_local(source=source, sha256=paths["embedder"][0], framework="transformers", cache_root=root)
    os.utime(root / paths["generator"][0] / ".ready", (old, old))
    assert cache_evict(root, max_bytes=sizes["embedder"] + 1, min_age_seconds=60) == [paths["generator"][0]]
