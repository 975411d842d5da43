"""An artifact on this machine, and its model loaded: the first step of every worker-side use of a version."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings

from marketplace.models import AppVersion

from ..artifacts import prepare_local

if TYPE_CHECKING:
    from ..runtimes import Predictor


def local_cache_root() -> Path:
    return Path(settings.MODEL_DIR)


def version_local_path(version: AppVersion) -> Path:
    """The artifact checked and unpacked in this machine's model folder (by sha256)."""
    with version.artifact.open("rb") as source:
        return prepare_local(source=source, sha256=version.sha256, framework=version.framework,
                             cache_root=local_cache_root())


def version_load(version: AppVersion, *, device: str = "cpu") -> Predictor:
    """Load a version's model with every guard on, in a model process of its own where it can be (see
    `model_process`). Raises ArtifactRefused or runtimes.ModelRefused."""
    from ..runtimes import load
    from .model_process import ModelProcess, model_process_wanted

    path = version_local_path(version)
    labels = (version.model_card or {}).get("labels")
    if model_process_wanted(task=version.task):
        from .batching import inference_threads

        return ModelProcess(path=str(path), framework=version.framework, task=version.task, device=device,
                            labels=labels, threads=inference_threads())
    return load(str(path), framework=version.framework, task=version.task, device=device, labels=labels)
