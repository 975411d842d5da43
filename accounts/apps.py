from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Users and API keys")

    def ready(self) -> None:
        """Invitations join at sign-up and when an address is verified (allauth's signals)."""
        from . import signup_receivers

        signup_receivers.connect()
