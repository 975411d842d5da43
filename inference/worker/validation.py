"""Validation of a new version, on a worker: unpack safely, load in a sandbox, run the example, record it."""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from marketplace.models import AppVersion, VersionStatus

from .. import schemas
from ..artifacts import ArtifactRefused
from .finish import json_safe
from .loading import version_local_path
from .sandbox import TryResult, model_try

logger = logging.getLogger(__name__)


def version_validate(*, version_id: int, device: str = "cpu") -> AppVersion | None:
    """Worker side: unpack safely, load with guards, run the task's example input, record what we learnt."""

    with transaction.atomic():
        version = AppVersion.objects.select_for_update().filter(pk=version_id).first()
        if version is None or version.status in (VersionStatus.READY, VersionStatus.INVALID):
            return version  # deleted meanwhile, or already decided (a redelivered task)
        version.status = VersionStatus.VALIDATING
        version.save(update_fields=["status"])
    try:
        path = version_local_path(version)  # copy, check and unpack (pure Python, bounded by UnpackLimits)
        example = schemas.version_example_input(version)
        items = schemas.input_items(task=version.task, data=example)
    except ArtifactRefused as exc:
        return _version_invalid(version_id, str(exc))
    tried = _version_try_sandboxed(version, path=path, items=items, device=device)
    if not tried.ok:
        return _version_invalid(version_id, _sandbox_reason(tried))
    try:
        example_output = schemas.output_assemble(data=example, outputs=tried.outputs or [])
    except Exception as exc:  # a model whose answers do not fit its task is invalid, with the reason shown
        return _version_invalid(version_id, _("The model failed on the example input: %(error)s")
                                % {"error": f"{type(exc).__name__}: {exc}"[:500]})
    load_ms, predict_ms = tried.load_ms, tried.predict_ms
    with transaction.atomic():
        version = AppVersion.objects.select_for_update().get(pk=version_id)
        version.status = VersionStatus.READY
        version.error = ""
        version.validated_at = timezone.now()
        version.input_schema = schemas.INPUT_SCHEMAS[version.task]
        version.output_schema = schemas.output_schema(version.task)
        version.metrics = {
            **(version.metrics or {}),
            "load_ms": round(load_ms, 1), "example_ms": round(predict_ms, 1),
            "parameters": tried.parameters, "labels": tried.labels, "device": device,
        }
        card = dict(version.model_card or {})
        # A small generator can emit NUL characters, which PostgreSQL's JSON cannot hold.
        card.update({"example_input": _shorten(example), "example_output": json_safe(_shorten(example_output))})
        version.model_card = card
        version.save()
    return version


def _version_try_sandboxed(version: AppVersion, *, path: Path, items: list[dict[str, Any]],
                           device: str) -> TryResult:
    """First load of a new artifact: in a child process with a memory ceiling and a wall clock."""
    try:
        return model_try(path=str(path), framework=version.framework, task=version.task, device=device,
                         labels=(version.model_card or {}).get("labels"), items=items,
                         memory_bytes=settings.VALIDATION_MEMORY_BYTES,
                         timeout=float(settings.VALIDATION_TIMEOUT_SECONDS))
    except Exception as exc:  # the sandbox itself failed: say so rather than leave the version `validating`
        logger.exception("sandboxed validation of version %s could not run", version.pk)
        return TryResult(ok=False, kind="error", message=f"{type(exc).__name__}: {exc}"[:500])


def _sandbox_reason(tried: TryResult) -> str:
    """The developer-facing sentence for a model that failed in the sandbox."""
    megabytes = settings.VALIDATION_MEMORY_BYTES // (1024 * 1024)
    if tried.kind == "refused":
        return tried.message
    if tried.kind == "timeout":
        return _("Loading the model and answering the example took longer than %(seconds)s seconds.") % {
            "seconds": settings.VALIDATION_TIMEOUT_SECONDS}
    if tried.kind == "memory":
        return _("The model needed more than the %(mb)d MB of memory a model may use while loading.") % {
            "mb": megabytes}
    if tried.kind == "crashed":
        return _("The model process stopped while loading (exit code %(code)s); it may have needed more than "
                 "the %(mb)d MB of memory allowed.") % {"code": tried.exitcode, "mb": megabytes}
    return _("The model failed on the example input: %(error)s") % {"error": tried.message}


def _shorten(data: dict[str, Any]) -> dict[str, Any]:
    text = json.dumps(data)
    if len(text) <= 2000:
        return data
    if "embedding" in data:
        return {**data, "embedding": data["embedding"][:8] + ["…"]}
    if "image" in data:
        return {"image": data["image"][:40] + "…"}
    return {"truncated": text[:2000]}


def _version_invalid(version_id: int, reason: str) -> AppVersion:
    with transaction.atomic():
        version = AppVersion.objects.select_for_update().get(pk=version_id)
        version.status = VersionStatus.INVALID
        version.error = reason
        version.validated_at = timezone.now()
        version.save(update_fields=["status", "error", "validated_at"])
    return version
