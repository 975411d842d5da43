"""Wallet figures shown with accounts' pages, supplied by the app that keeps wallets: a user's balance
(`GET /api/v1/me/`) and what each member spent of an organisation's wallet this month (the members page).

Accounts sits at the bottom of the layers, so it never imports billing; billing registers its reader in
`BillingConfig.ready()`.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any, Protocol

from django.core.exceptions import ImproperlyConfigured


class BalanceSource(Protocol):
    def user_balance(self, *, user: Any) -> Decimal: ...

    def org_spent_this_month_by_member(self, *, org: Any) -> dict[int, Decimal]: ...


_source: BalanceSource | None = None


def register_balance_source(source: BalanceSource) -> None:
    global _source
    _source = source


def _registered() -> BalanceSource:
    if _source is None:
        raise ImproperlyConfigured("No balance source is registered (billing registers one in BillingConfig.ready).")
    return _source


def user_balance(*, user: Any) -> Decimal:
    """The user's available wallet balance."""
    return _registered().user_balance(user=user)


def org_spent_this_month_by_member(*, org: Any) -> dict[int, Decimal]:
    """{user id: held plus settled charges on the org's wallet since the first of the month}; members who spent
    nothing are absent."""
    return _registered().org_spent_this_month_by_member(org=org)
