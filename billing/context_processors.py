"""Every template's display currency (billing/currency.py): the user's pick, else the page language's."""
from django.http import HttpRequest
from django.utils.translation import get_language

from accounts.preferences import display_currency_for

from .currency import DisplayMoney, display_money_for


def display_currency(request: HttpRequest) -> dict[str, DisplayMoney]:
    user = getattr(request, "user", None)
    return {"DISPLAY_MONEY": display_money_for(currency=display_currency_for(user=user, language=get_language()))}
