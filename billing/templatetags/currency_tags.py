"""`{% display_money amount %}`: a settlement amount in the visitor's display currency, marked approximate.

Renders nothing when the display currency is the settlement currency or has no rate, so templates can put it
next to every `|price` without conditions. Money that is charged (quotes, wallet, ledger) keeps its exact
settlement amount; this only adds "≈ ¥7.10" beside it.
"""
from django import template
from django.utils.html import format_html
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from accounts.preferences import display_currency_for

from ..currency import DisplayMoney, display_money_for, settlement_currency

register = template.Library()


def _display(context) -> DisplayMoney:
    display = context.get("DISPLAY_MONEY")
    if display is None:  # a template rendered without the context processor (an email, a test)
        request = context.get("request")
        user = getattr(request, "user", None)
        display = display_money_for(currency=display_currency_for(user=user, language=get_language()))
    return display


@register.simple_tag(takes_context=True)
def display_money(context, amount) -> str:
    text = _display(context).approximate(amount)
    if not text:
        return ""
    title = _("Approximate, at the platform's exchange rate; you are charged in %(code)s.") % {
        "code": settlement_currency().upper()}
    return format_html('<span class="approx" title="{}">{}</span>', title, text)


@register.filter
def approx_in(amount, currency: str) -> str:
    """`{{ amount|approx_in:"cny" }}`: the plain text ("≈ ¥7.10"), for a given currency."""
    return display_money_for(currency=currency or "").approximate(amount)
