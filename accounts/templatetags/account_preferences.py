"""The settings page's display-currency card (`{% display_currency_card %}`), so the page's view stays as it is."""
from django import template

from ..preference_views import DisplayCurrencyForm

register = template.Library()


@register.inclusion_tag("accounts/_display_currency.html", takes_context=True)
def display_currency_card(context) -> dict:
    user = context["request"].user
    return {"currency_form": DisplayCurrencyForm(initial={"display_currency": user.display_currency}),
            "csrf_token": context.get("csrf_token")}
