from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommunityConfig(AppConfig):
    name = "community"
    verbose_name = _("Community")

    def ready(self) -> None:
        # Marketplace sits below community and never imports it: community asks to hear of publications.
        from marketplace.services import app_published_subscribe

        from .services import on_app_published

        app_published_subscribe(on_app_published)
