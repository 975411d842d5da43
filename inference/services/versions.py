"""Versions, web side: store an uploaded artifact, check what can be checked without loading it, queue validation.

Loading and trying the model happens on a worker (`inference.worker.validation`).
"""
from __future__ import annotations

import os

from django.conf import settings
from django.core.files.base import File
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from config.errors import InvalidInput, PermissionDenied
from marketplace.models import App, AppVersion, Framework, Hardware, Task, VersionStatus
from marketplace.services import app_version_create

from .. import schemas
from ..artifacts import ArtifactRefused, check_upload_name, file_sha256


class ArtifactTooLarge(InvalidInput):
    """Past the configured upload limit: forms show it on the field, the API answers 413."""

    status = 413
    default_code = "too_large"


@transaction.atomic
def version_upload(
    *, app: App, actor: User, artifact: File | None, version: str, task: str, framework: str,
    hardware: str = Hardware.CPU, changelog: str = "", labels: list[str] | None = None,
    max_batch_size: int | None = None, max_wait_ms: int | None = None,
) -> AppVersion:
    """Store an artifact for a new version and queue its validation on a worker."""
    errors: dict[str, list[str]] = {}
    if task not in Task.values:
        errors["task"] = [_("Choose one of: %(choices)s.") % {"choices": ", ".join(Task.values)}]
    if framework not in Framework.values:
        errors["framework"] = [_("Choose transformers or keras.")]
    if hardware not in Hardware.values:
        errors["hardware"] = [_("Choose cpu or gpu.")]
    if artifact is None:
        errors["artifact"] = [_("Upload the model file.")]
    if errors:
        raise InvalidInput(next(iter(errors.values()))[0], fields=errors)
    assert artifact is not None  # for the type checker: refused above
    limit = settings.MAX_ARTIFACT_BYTES
    if (artifact.size or 0) > limit:
        message = _("The file is %(size)d bytes; the limit is %(limit)d.") % {"size": artifact.size, "limit": limit}
        raise ArtifactTooLarge(message, fields={"artifact": [message]})
    try:
        check_upload_name(artifact.name or "", framework)
    except ArtifactRefused as exc:
        raise InvalidInput(str(exc), fields={"artifact": [str(exc)]}) from exc
    sha256, size = file_sha256(artifact)
    extra: dict[str, int] = {}
    if max_batch_size is not None:
        extra["max_batch_size"] = max_batch_size
    if max_wait_ms is not None:
        extra["max_wait_ms"] = max_wait_ms
    app_version = app_version_create(
        app=app, actor=actor, version=version, changelog=changelog, task=task, framework=framework,
        hardware=hardware, sha256=sha256, size=size, status=VersionStatus.UPLOADED,
        input_schema=schemas.INPUT_SCHEMAS[task], output_schema=schemas.output_schema(task),
        model_card={"labels": list(labels)} if labels else {}, **extra,
    )
    app_version.artifact.save(os.path.basename(artifact.name or ""), artifact, save=False)
    app_version.save(update_fields=["artifact"])
    version_id = app_version.pk
    transaction.on_commit(lambda: _enqueue_validation(version_id))
    return app_version


def _enqueue_validation(version_id: int) -> None:
    from ..tasks import validate_version

    validate_version.apply_async(args=(version_id,), queue="validation")  # apart from predictions


@transaction.atomic
def version_revalidate(*, version: AppVersion, actor: User) -> AppVersion:
    if not version.app.is_managed_by(actor) and not actor.is_moderator:
        raise PermissionDenied(_("Only the owner can revalidate this version."))
    AppVersion.objects.filter(pk=version.pk).update(status=VersionStatus.UPLOADED, error="")
    transaction.on_commit(lambda: _enqueue_validation(version.pk))
    version.refresh_from_db()
    return version
