"""Publishing a succeeded job's artifact as a new app version: the same path as a developer's upload."""
from __future__ import annotations

from pathlib import Path

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from config.errors import Conflict, PermissionDenied
from inference.services import version_upload
from marketplace.model_cards import model_card_from_training, version_model_card_fill
from marketplace.models import App, AppVersion, Task

from ..models import JobStatus, TrainingJob
from .jobs import append_log


@transaction.atomic
def training_job_publish(*, job: TrainingJob, actor: User, version: str, changelog: str = "",
                         app: App | None = None) -> AppVersion:
    """Create an app version from a succeeded job's artifact; it is validated like any upload, then reviewed."""
    job = TrainingJob.objects.select_for_update().select_related("base_version__app").get(pk=job.pk)
    if job.owner_id != actor.pk:
        raise PermissionDenied(_("Only the job's owner can publish its result."))
    if job.status != JobStatus.SUCCEEDED or not job.result_artifact:
        raise Conflict(_("Only a succeeded job with a validated artifact can be published."), code="job_not_succeeded")
    if job.published_version_id:
        assert job.published_version is not None
        raise Conflict(_("This result is already published as version %(v)s.") % {"v": job.published_version.version},
                       code="already_published")
    target = app or job.base_version.app
    if target.owner_id != actor.pk:
        raise PermissionDenied(_("You can only publish to your own apps."))
    base = job.base_version
    labels = list(job.model_card.get("labels", []))
    with job.result_artifact.open("rb") as handle:
        artifact = ContentFile(handle.read(), name=Path(job.result_artifact.name or "").name)
    # The same path as a developer's upload: stored privately, then validated on a worker, then reviewed.
    new_version = version_upload(
        app=target, actor=actor, artifact=artifact, version=version.strip(), task=Task.TEXT_CLASSIFICATION,
        framework=job.framework, hardware=base.hardware, labels=labels,
        changelog=changelog or _("Fine-tuned from %(app)s %(version)s on dataset “%(dataset)s” (training job %(job)d).")
        % {"app": base.app.slug, "version": base.version, "dataset": job.dataset.name, "job": job.pk},
        max_batch_size=base.max_batch_size, max_wait_ms=base.max_wait_ms,
    )
    new_version.model_card = {**job.model_card, **(new_version.model_card or {}), "trained_by_job": job.pk}
    new_version.metrics = {**(new_version.metrics or {}),
                           **{key: job.metrics.get(key) for key in ("epoch", "loss", "eval_loss", "eval_accuracy")}}
    new_version.save(update_fields=["model_card", "metrics"])
    new_version = version_model_card_fill(
        version=new_version, values=model_card_from_training(training_card=job.model_card, base=base))
    job.published_version = new_version
    job.logs = append_log(job.logs, _("Published as %(app)s version %(v)s; validation and review follow.")
                          % {"app": target.slug, "v": new_version.version})
    job.save(update_fields=["published_version", "logs"])
    return new_version
