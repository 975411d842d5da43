from django.apps import AppConfig


class ConfigConfig(AppConfig):
    """The composition root as an app: commands that use every app (`seed_demo`, `runplatform`) and the `mm`
    template tags. It has no models; it may import every app, and no app imports it except its plumbing
    (settings, errors, metrics)."""

    name = "config"
    verbose_name = "ModelMarket"
