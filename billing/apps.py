from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = _("Billing")

    def ready(self) -> None:
        """Fill in the ports the lower layers define, so they show billing's figures without importing billing."""
        from accounts.balance_port import register_balance_source
        from marketplace.pricing_port import register_price_source, register_purchase_gate

        from . import selectors
        from .services import checkout, pricing

        register_price_source(pricing)
        register_purchase_gate(checkout)
        register_balance_source(selectors)
