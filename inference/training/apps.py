from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrainingConfig(AppConfig):
    """Fine-tuning as a service: datasets, training jobs and their results."""

    name = "inference.training"
    label = "training"
    verbose_name = _("Training")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Run the stale-job reaper every minute under celery beat (settings own the schedule dict)."""
        from django.conf import settings

        schedule = getattr(settings, "CELERY_BEAT_SCHEDULE", None)
        if isinstance(schedule, dict):
            schedule.setdefault("training-reap-stale-jobs", {"task": "training.reap_stale_jobs", "schedule": 60.0})
