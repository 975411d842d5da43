"""Daily usage rollups: one row per app and day (and one per day for the whole platform, `app` empty).

Written only by `services.usage_rollup` (a periodic task), which recomputes whole days from the predictions and
the ledger, so the dashboards never scan predictions. Money comes from the ledger (billing's economics), so a
row's revenue and cost are exactly what the books say for that app and day.
"""
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

MONEY = {"max_digits": 18, "decimal_places": 6}
ZERO = Decimal("0.000000")


class DailyUsage(models.Model):
    """Calls, errors, callers, latency and money of one app (or, with no app, of every app) on one day."""

    app = models.ForeignKey("marketplace.App", on_delete=models.CASCADE, null=True, blank=True,
                            related_name="daily_usage")
    day = models.DateField(_("day"))
    calls = models.PositiveIntegerField(_("calls"), default=0)
    errors = models.PositiveIntegerField(_("errors"), default=0)
    unique_callers = models.PositiveIntegerField(_("unique callers"), default=0)
    # End-to-end latency (created -> completed) of the day's succeeded calls, and queue time (created -> started)
    # of the calls that started; nearest-rank percentiles in milliseconds, empty when there was none.
    p50_ms = models.PositiveIntegerField(null=True, blank=True)
    p95_ms = models.PositiveIntegerField(null=True, blank=True)
    queue_p50_ms = models.PositiveIntegerField(null=True, blank=True)
    queue_p95_ms = models.PositiveIntegerField(null=True, blank=True)
    # Log-spaced histograms {bucket: count} of the same samples, so a range's percentiles can be merged.
    latency_histogram = models.JSONField(default=dict, blank=True)
    queue_histogram = models.JSONField(default=dict, blank=True)
    revenue = models.DecimalField(_("revenue"), default=ZERO, **MONEY)
    cost = models.DecimalField(_("cost"), default=ZERO, **MONEY)
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        ordering = ["day"]
        constraints = [
            models.UniqueConstraint(fields=["app", "day"], name="analytics_one_row_per_app_day"),
            models.UniqueConstraint(fields=["day"], condition=Q(app__isnull=True),
                                    name="analytics_one_platform_row_per_day"),
        ]
        verbose_name = _("daily usage")
        verbose_name_plural = _("daily usage")

    def __str__(self) -> str:
        return f"{self.app_id or 'platform'} {self.day}: {self.calls} calls"

    @property
    def margin(self) -> Decimal:
        """Revenue minus cost C."""
        return self.revenue - self.cost


class DailyCaller(models.Model):
    """Who called an app on a day (and how often): the rollup that distinct callers over a range are counted from."""

    app = models.ForeignKey("marketplace.App", on_delete=models.CASCADE, related_name="daily_callers")
    day = models.DateField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    calls = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["app", "day", "user"], name="analytics_one_caller_row")]
        indexes = [models.Index(fields=["day", "app"])]
        verbose_name = _("daily caller")
        verbose_name_plural = _("daily callers")

    def __str__(self) -> str:
        return f"{self.app_id} {self.day} user {self.user_id}"


class PlatformUsageReport(DailyUsage):
    """Admin-only proxy: the platform-wide usage dashboard lives on its changelist, next to the economics report."""

    class Meta:
        proxy = True
        verbose_name = _("platform usage report")
        verbose_name_plural = _("platform usage report")
