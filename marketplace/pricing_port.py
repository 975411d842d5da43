"""What an app costs, per call and to buy, as marketplace shows it: supplied by the app that computes it.

Marketplace sits below billing in the layers (accounts <- marketplace <- billing), so it never imports
billing. It defines these two small ports instead; billing registers its implementations in
`BillingConfig.ready()` (billing/services/pricing.py is the one place a price is computed).
"""
from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from .models import App


class PriceSource(Protocol):
    """Demand n and the current per-call price of apps (one query for a page of apps)."""

    def app_demand(self, *, app: App) -> int: ...

    def apps_demand(self, *, apps: Iterable[App]) -> dict[int, int]: ...

    def app_price(self, *, app: App, demand: int | None = None) -> Decimal: ...

    def app_prices(self, *, apps: Iterable[App]) -> dict[int, Decimal]: ...


class PurchaseGate(Protocol):
    """Whether a user must buy an app before adding it, and where to pay."""

    def app_needs_purchase(self, *, user: Any, app: App) -> bool: ...

    def purchase_checkout_url(self, *, user: Any, app: App) -> str: ...


_price_source: PriceSource | None = None
_purchase_gate: PurchaseGate | None = None


def register_price_source(source: PriceSource) -> None:
    global _price_source
    _price_source = source


def register_purchase_gate(gate: PurchaseGate) -> None:
    global _purchase_gate
    _purchase_gate = gate


def price_source() -> PriceSource:
    if _price_source is None:
        raise ImproperlyConfigured("No price source is registered (billing registers one in BillingConfig.ready).")
    return _price_source


def purchase_gate() -> PurchaseGate:
    if _purchase_gate is None:
        raise ImproperlyConfigured("No purchase gate is registered (billing registers one in BillingConfig.ready).")
    return _purchase_gate
