"""A user's display currency: the pick in settings, or one that follows the page's language.

Prices are only *shown* in it (billing/currency.py converts at the moderators' rates, marked approximate);
the ledger, quotes and charges keep the settlement currency.
"""
from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from config.errors import InvalidInput

from .models import DisplayCurrency, User

# Without a pick, the language decides: Simplified Chinese shows yuan, every other language dollars.
CURRENCY_BY_LANGUAGE = {"zh-hans": DisplayCurrency.CNY}
DEFAULT_CURRENCY = DisplayCurrency.USD


def display_currency_default(*, language: str | None) -> str:
    code = (language or "").lower().replace("_", "-")
    if code in ("zh", "zh-cn", "zh-sg"):
        code = "zh-hans"
    return str(CURRENCY_BY_LANGUAGE.get(code, DEFAULT_CURRENCY))


def display_currency_for(*, user: User | None, language: str | None) -> str:
    """The currency prices are shown in for this user (anonymous visitors: by language)."""
    chosen = getattr(user, "display_currency", "") if user is not None and user.is_authenticated else ""
    return chosen or display_currency_default(language=language)


@transaction.atomic
def user_set_display_currency(*, user: User, currency: str) -> User:
    """Pick a display currency; an empty value follows the language again."""
    if currency and currency not in DisplayCurrency.values:
        message = _("Choose one of: %(choices)s.") % {"choices": ", ".join(c.upper() for c in DisplayCurrency.values)}
        raise InvalidInput(message, fields={"display_currency": [message]})
    user.display_currency = currency
    user.save(update_fields=["display_currency"])
    return user
