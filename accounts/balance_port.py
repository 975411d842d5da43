"""The wallet balance shown with an account (`GET /api/v1/me/`), supplied by the app that keeps wallets.

Accounts sits at the bottom of the layers, so it never imports billing; billing registers its reader in
`BillingConfig.ready()`.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any, Protocol

from django.core.exceptions import ImproperlyConfigured


class BalanceSource(Protocol):
    def user_balance(self, *, user: Any) -> Decimal: ...


_source: BalanceSource | None = None


def register_balance_source(source: BalanceSource) -> None:
    global _source
    _source = source


def user_balance(*, user: Any) -> Decimal:
    """The user's available wallet balance."""
    if _source is None:
        raise ImproperlyConfigured("No balance source is registered (billing registers one in BillingConfig.ready).")
    return _source.user_balance(user=user)
