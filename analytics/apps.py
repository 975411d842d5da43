from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    """Developer and platform usage dashboards, read from daily rollups (the top layer: it reads marketplace,
    billing and inference, and nothing below imports it)."""

    name = "analytics"
    verbose_name = _("Analytics")
