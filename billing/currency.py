"""Display currency: prices shown in USD, CNY or EUR beside the settlement amount, for display only.

The ledger keeps one settlement currency (settings.CURRENCY); quotes, charges, wallets and the
API stay in it. Moderators keep the rates in the admin (`CurrencyRate`); a converted amount is always marked
approximate ("≈ ¥7.10") and never replaces the settlement amount where money is charged.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import DisplayCurrency
from config.errors import InvalidInput

from .models import CurrencyRate

SYMBOLS = {"usd": "$", "eur": "€", "cny": "¥"}


def settlement_currency() -> str:
    return str(settings.CURRENCY).lower()


def currency_rates() -> dict[str, Decimal]:
    """Units of each display currency per settlement unit; the settlement currency itself is 1."""
    rates = {code: Decimal(rate) for code, rate in CurrencyRate.objects.values_list("code", "per_settlement_unit")}
    rates[settlement_currency()] = Decimal("1")
    return rates


def money_convert(*, amount: Decimal, currency: str, rates: dict[str, Decimal]) -> Decimal | None:
    """`amount` (settlement currency) in `currency`, or None without a rate. Not rounded: display rounds."""
    rate = rates.get(currency.lower())
    if rate is None:
        return None
    return Decimal(amount) * rate


def money_text_in(*, amount: Decimal, currency: str) -> str:
    """A converted amount for display: cents from one unit up, up to four decimals below (¥7.10, €0.0018, €0.92)."""
    places = Decimal("0.01") if abs(amount) >= 1 else Decimal("0.0001")
    rounded = amount.quantize(places, rounding=ROUND_HALF_UP)
    whole, _dot, frac = f"{abs(rounded):,f}".partition(".")
    frac = frac.rstrip("0").ljust(2, "0")
    digits = f"{whole}.{frac}"
    symbol = SYMBOLS.get(currency.lower())
    text = f"{symbol}{digits}" if symbol else f"{digits} {currency.upper()}"
    return f"−{text}" if rounded < 0 else text


@dataclass
class DisplayMoney:
    """One request's display currency, with the rates read once (lazily) for every price on the page."""

    currency: str
    _rates: dict[str, Decimal] | None = field(default=None, repr=False)

    @property
    def converts(self) -> bool:
        """False when the display currency is the settlement currency: nothing to add beside prices."""
        return self.currency != settlement_currency()

    def rates(self) -> dict[str, Decimal]:
        if self._rates is None:
            self._rates = currency_rates()
        return self._rates

    def approximate(self, value: Any) -> str:
        """"≈ ¥7.10" for a settlement amount, or "" (same currency, no rate, or not a number)."""
        if not self.converts or value in (None, ""):
            return ""
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            return ""
        converted = money_convert(amount=amount, currency=self.currency, rates=self.rates())
        if converted is None:
            return ""
        return "≈ " + money_text_in(amount=converted, currency=self.currency)


def display_money_for(*, currency: str) -> DisplayMoney:
    return DisplayMoney(currency=currency.lower())


def rate_is_stale(*, rate: CurrencyRate, now: dt.datetime | None = None) -> bool:
    return (now or timezone.now()) - rate.updated_at > dt.timedelta(days=settings.DISPLAY_CURRENCY_STALE_DAYS)


@transaction.atomic
def currency_rate_set(*, code: str, per_settlement_unit: Decimal) -> CurrencyRate:
    """Set a display currency's rate (moderators, in the admin). Raises InvalidInput."""
    code = code.lower()
    if code not in DisplayCurrency.values:
        raise InvalidInput(_("Unknown display currency."), fields={"code": [_("Choose USD, CNY or EUR.")]})
    if per_settlement_unit is None or Decimal(per_settlement_unit) <= 0:
        message = _("A rate must be more than zero.")
        raise InvalidInput(message, fields={"per_settlement_unit": [message]})
    rate, _created = CurrencyRate.objects.update_or_create(
        code=code, defaults={"per_settlement_unit": Decimal(per_settlement_unit)})
    return rate
