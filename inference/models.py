"""Predictions, webhook deliveries and the workers' heartbeats."""
import base64
import os
import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from config.fields import EncryptedJSONField
from marketplace.models import MONEY, App, AppVersion


class PredictionStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    STARTING = "starting", _("Starting")
    PROCESSING = "processing", _("Processing")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    CANCELED = "canceled", _("Canceled")


TERMINAL_STATUSES = (PredictionStatus.SUCCEEDED, PredictionStatus.FAILED, PredictionStatus.CANCELED)


class PredictionQuerySet(models.QuerySet):
    def for_caller(self, user) -> "PredictionQuerySet":
        """Inputs and outputs are private: a prediction is visible to the user who made it only."""
        if user is None or not user.is_authenticated:
            return self.none()
        return self.filter(user=user)


class Prediction(models.Model):
    """One run of an app version; its price is fixed at admission by billing."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    app = models.ForeignKey(App, on_delete=models.PROTECT, related_name="predictions")
    version = models.ForeignKey(AppVersion, on_delete=models.PROTECT, related_name="predictions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="predictions")
    api_key = models.ForeignKey("accounts.ApiKey", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="predictions")
    status = models.CharField(max_length=20, choices=PredictionStatus.choices, default=PredictionStatus.QUEUED,
                              db_index=True)
    # Encrypted at rest (config/crypto.py); None once erased (`data_removed`: retention, `store: false`, deletion).
    input = EncryptedJSONField(default=dict, null=True, blank=True)
    output = EncryptedJSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    logs = models.TextField(blank=True)

    price = models.DecimalField(default=Decimal("0"), **MONEY)
    currency = models.CharField(max_length=3, default="usd")
    quote_id = models.CharField(max_length=100, blank=True)
    max_price = models.DecimalField(null=True, blank=True, **MONEY)

    hardware = models.CharField(max_length=10, default="cpu", help_text=_("The queue's hardware class."))
    device = models.CharField(max_length=40, blank=True, help_text=_("The device that ran it, e.g. cpu, cuda:0."))
    compute_seconds = models.DecimalField(default=Decimal("0"), max_digits=12, decimal_places=6)
    metrics = models.JSONField(default=dict, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    stream = models.BooleanField(default=False)
    webhook = models.URLField(blank=True, max_length=500)
    webhook_events_filter = models.JSONField(default=list, blank=True)
    idempotency_key = models.CharField(max_length=200, blank=True)
    # Data protection (privacy app): `store=False` answers once, then erases; `data_removed` once erased.
    store = models.BooleanField(default=True)
    data_removed = models.BooleanField(default=False)

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    objects = PredictionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "idempotency_key"], condition=~Q(idempotency_key=""),
                                    name="one_prediction_per_idempotency_key"),
        ]
        indexes = [models.Index(fields=["user", "-created_at"]), models.Index(fields=["app", "-created_at"]),
                   # the retention purge: finished predictions whose data is still there
                   models.Index(fields=["completed_at"], condition=Q(data_removed=False), name="prediction_data_kept")]
        verbose_name = _("prediction")
        verbose_name_plural = _("predictions")

    def __str__(self) -> str:
        return f"{self.id} ({self.status})"

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


def _new_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


class WebhookSecret(models.Model):
    """The key a user's webhook receivers use to check our signatures (Standard Webhooks)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_secret")
    secret = models.CharField(max_length=100, default=_new_secret)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"webhook secret of {self.user}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Delivered")
    FAILED = "failed", _("Failed")


class WebhookDelivery(models.Model):
    """One event sent to a webhook URL, with every attempt's outcome, so callers can see and redeliver."""

    prediction = models.ForeignKey(Prediction, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=40)
    url = models.URLField(max_length=500)
    message_id = models.CharField(max_length=60, unique=True)
    status = models.CharField(max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")

    def __str__(self) -> str:
        return f"{self.event} → {self.url} ({self.status})"


class WorkerHeartbeat(models.Model):
    """Which inference workers are alive, what they serve and on which devices (for routing and 503s)."""

    hostname = models.CharField(max_length=200, unique=True)
    queues = models.JSONField(default=list)
    devices = models.JSONField(default=list)
    last_seen = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return self.hostname
