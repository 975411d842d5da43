from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InferenceConfig(AppConfig):
    name = "inference"
    verbose_name = _("Inference")

    def ready(self) -> None:
        # Marketplace (a lower layer) offers hooks; inference fills them: the console's version form with the
        # artifact upload, and the worker gauges of /metrics.
        from config.metrics import scrape_collector_register
        from marketplace.forms import version_form_register

        from .forms import VersionUploadForm
        from .metrics import WorkerHeartbeatCollector

        version_form_register(VersionUploadForm)
        scrape_collector_register(WorkerHeartbeatCollector())
