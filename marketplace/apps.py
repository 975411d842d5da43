from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MarketplaceConfig(AppConfig):
    name = "marketplace"
    verbose_name = _("Marketplace")

    def ready(self) -> None:
        # Accounts sits below marketplace and never imports it: a public profile asks marketplace for its apps.
        from accounts.views import profile_context_register

        from .selectors import profile_context

        profile_context_register(profile_context)
