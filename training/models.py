"""Datasets a developer uploads and the fine-tuning jobs that train on them."""
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from config.storage import private_storage

MONEY = {"max_digits": 18, "decimal_places": 6}


def dataset_upload_to(instance: "Dataset", filename: str) -> str:
    return f"datasets/{instance.owner_id}/{uuid.uuid4().hex}/{filename}"


def result_upload_to(instance: "TrainingJob", filename: str) -> str:
    return f"training/{instance.owner_id}/{instance.pk}/{filename}"


class DatasetStatus(models.TextChoices):
    READY = "ready", _("Ready")
    INVALID = "invalid", _("Invalid")


class DatasetFormat(models.TextChoices):
    CSV = "csv", _("CSV")
    JSONL = "jsonl", _("JSON Lines")


class DatasetQuerySet(models.QuerySet):
    """The one place that decides who may see a dataset: its owner, nobody else."""

    def visible_to(self, user) -> "DatasetQuerySet":
        if user is None or not user.is_authenticated:
            return self.none()
        return self.filter(owner=user)


class Dataset(models.Model):
    """A labelled text file in private storage plus its validation report and split settings."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="datasets")
    name = models.CharField(_("name"), max_length=200)
    file = models.FileField(storage=private_storage, upload_to=dataset_upload_to, max_length=300)
    format = models.CharField(max_length=10, choices=DatasetFormat.choices, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=20, choices=DatasetStatus.choices, default=DatasetStatus.INVALID)
    error_code = models.CharField(max_length=40, blank=True)
    error = models.TextField(blank=True)

    rows = models.PositiveIntegerField(default=0, help_text=_("Usable rows after removing empty ones and duplicates."))
    total_rows = models.PositiveIntegerField(default=0)
    empty_rows = models.PositiveIntegerField(default=0)
    duplicate_rows = models.PositiveIntegerField(default=0)
    conflicting_rows = models.PositiveIntegerField(default=0)
    labels = models.JSONField(default=dict, blank=True, help_text=_("Label → number of usable rows."))
    mean_words = models.FloatField(default=0.0)

    validation_fraction = models.DecimalField(max_digits=4, decimal_places=3, default="0.200")
    seed = models.PositiveIntegerField(default=42)
    train_rows = models.PositiveIntegerField(default=0)
    validation_rows = models.PositiveIntegerField(default=0)

    created_at = models.DateTimeField(auto_now_add=True)

    objects = DatasetQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("dataset")
        verbose_name_plural = _("datasets")

    def __str__(self) -> str:
        return self.name


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    CANCELED = "canceled", _("Canceled")


ACTIVE_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)
FINAL_STATUSES = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELED)


class TrainingJobQuerySet(models.QuerySet):
    def visible_to(self, user) -> "TrainingJobQuerySet":
        if user is None or not user.is_authenticated:
            return self.none()
        return self.filter(owner=user)

    def active(self) -> "TrainingJobQuerySet":
        return self.filter(status__in=ACTIVE_STATUSES)


class TrainingJob(models.Model):
    """One fine-tuning run. The worker writes progress and a heartbeat; the reaper fails silent jobs."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="training_jobs")
    base_version = models.ForeignKey("marketplace.AppVersion", on_delete=models.PROTECT, related_name="training_jobs")
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="jobs")
    hyperparameters = models.JSONField(default=dict)
    framework = models.CharField(max_length=20)
    hardware = models.CharField(max_length=10, default="cpu")

    status = models.CharField(max_length=20, choices=JobStatus.choices, default=JobStatus.QUEUED, db_index=True)
    progress = models.FloatField(default=0.0)
    step = models.PositiveIntegerField(default=0)
    total_steps = models.PositiveIntegerField(default=0)
    epoch = models.PositiveIntegerField(default=0)
    metrics = models.JSONField(default=dict, blank=True, help_text=_("Latest epoch, loss and eval_accuracy."))
    history = models.JSONField(default=dict, blank=True, help_text=_("Loss per step and accuracy per epoch."))
    logs = models.TextField(blank=True)
    error = models.TextField(blank=True)

    estimated_seconds = models.PositiveIntegerField(default=0)
    estimated_cost = models.DecimalField(default=0, **MONEY)
    currency = models.CharField(max_length=3, default="usd")
    compute_seconds = models.DecimalField(default=0, max_digits=12, decimal_places=3)
    time_limit_seconds = models.PositiveIntegerField(default=3600)

    attempts = models.PositiveSmallIntegerField(default=0)
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=200, blank=True)

    result_artifact = models.FileField(storage=private_storage, upload_to=result_upload_to, blank=True,
                                       max_length=300)
    result_sha256 = models.CharField(max_length=64, blank=True)
    result_size = models.PositiveBigIntegerField(default=0)
    result_checked = models.BooleanField(default=False, help_text=_("The artifact passed upload validation."))
    model_card = models.JSONField(default=dict, blank=True)
    published_version = models.OneToOneField("marketplace.AppVersion", on_delete=models.SET_NULL, null=True,
                                             blank=True, related_name="trained_by")

    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = TrainingJobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("training job")
        verbose_name_plural = _("training jobs")
        indexes = [models.Index(fields=["status", "heartbeat_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(progress__gte=0) & Q(progress__lte=1), name="training_progress_0_1"),
        ]

    def __str__(self) -> str:
        return f"job {self.pk} on {self.base_version}"

    @property
    def user(self):
        """Billing's name for who pays (as on a Prediction): the job's owner."""
        return self.owner

    @property
    def result_name(self) -> str:
        return self.result_artifact.name.rsplit("/", 1)[-1] if self.result_artifact else ""

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES
