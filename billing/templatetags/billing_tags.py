"""Template helpers for billing's extension points (the app page gets only `app` and `request`)."""
from django import template
from django.conf import settings

from config.templatetags.mm import CURRENCY_SYMBOLS

from ..services.pricing import app_demand, app_price

register = template.Library()


@register.simple_tag
def live_price(app) -> dict:
    demand = app_demand(app=app)
    return {"price": app_price(app=app, demand=demand), "demand": demand,
            "currency": settings.CURRENCY,
            "symbol": CURRENCY_SYMBOLS.get(settings.CURRENCY.lower(), "")}
