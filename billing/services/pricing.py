"""Pricing: demand n, the per-call price P = base + k·n (capped), quotes, and the training and compute rates.

The one place a price is computed. Marketplace shows prices through the port it defines
(`marketplace/pricing_port.py`), which `BillingConfig.ready()` fills in with this module; training prices a
job through `billing.contract`. Prices are Decimals with six places (`ledger.money`).
"""
from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from config.errors import InvalidInput, PaymentRequired
from config.hot_rows import fetch_one
from marketplace.models import App, PricingModel

from .. import selectors
from ..ledger import money
from ..models import ZERO, Charge, ChargeStatus, Quote

SIX = Decimal("0.000001")


def currency() -> str:
    return settings.CURRENCY


# --- The per-call price ---------------------------------------------------------------------------------------

def price_formula(*, base_price: Decimal, k: Decimal, max_price: Decimal | None, demand: int) -> Decimal:
    """P = min(max_price, base_price + k·n) to six places; a max price of 0 (or none) means no cap."""
    price = base_price + k * Decimal(demand)
    if max_price and max_price > 0:
        price = min(max_price, price)
    return price.quantize(SIX)


def app_demand(*, app: App, now: dt.datetime | None = None) -> int:
    """n: the app's admitted calls (not released) in its trailing pricing window.

    The owner's own calls are left out: a developer testing their app must not pump its price for others.
    """
    since = (now or timezone.now()) - dt.timedelta(seconds=app.window_seconds)
    # Counted on every paid call: one statement written once, not a queryset built and compiled each time
    # (config.hot_rows); the same count as Charge.objects.filter(...).exclude(...).count(), tested.
    row = fetch_one(_demand_sql(), [app.pk, connection.ops.adapt_datetimefield_value(since), ChargeStatus.RELEASED,
                                    app.owner_id])
    return int(row[0]) if row else 0


@functools.cache
def _demand_sql() -> str:
    return (f"SELECT COUNT(*) FROM {Charge._meta.db_table} "  # noqa: S608  (model metadata only)
            "WHERE app_id = %s AND created_at >= %s AND status <> %s AND user_id <> %s")


def apps_demand(*, apps: Iterable[App]) -> dict[int, int]:
    """`app_demand` for a page of apps in ONE grouped query (each app with its own window)."""
    apps = list(apps)
    if not apps:
        return {}
    now = timezone.now()
    condition = Q()
    for app in apps:
        condition |= (Q(app_id=app.pk, created_at__gte=now - dt.timedelta(seconds=app.window_seconds))
                      & ~Q(user_id=app.owner_id))  # the owner's own calls do not count (see app_demand)
    counts = {app.pk: 0 for app in apps}
    rows = (Charge.objects.filter(condition).exclude(status=ChargeStatus.RELEASED)
            .values("app_id").annotate(n=Count("id")).order_by())
    for row in rows:
        counts[row["app_id"]] = row["n"]
    return counts


def app_price(*, app: App, demand: int | None = None) -> Decimal:
    """The app's current per-call price for its demand (counted when not given); free apps cost nothing."""
    if app.pricing_model == PricingModel.FREE:
        return ZERO
    n = app_demand(app=app) if demand is None else demand
    return price_formula(base_price=app.base_price, k=app.k, max_price=app.max_price, demand=n)


def app_prices(*, apps: Iterable[App]) -> dict[int, Decimal]:
    """The current per-call price of each app, keyed by id, in one demand query for the whole page."""
    apps = list(apps)
    demand = apps_demand(apps=[app for app in apps if app.pricing_model != PricingModel.FREE])
    return {app.pk: app_price(app=app, demand=demand.get(app.pk, 0)) for app in apps}


def fee_split(price: Decimal) -> tuple[Decimal, Decimal]:
    """(developer share, platform fee); the fee takes the rounding remainder so they sum to price."""
    share = money(price * (Decimal("1") - settings.PLATFORM_FEE))
    return share, money(price - share)


# --- Compute: the platform's cost C, the owner's hold, and training ---------------------------------------------

def _rate(table: dict[str, Decimal], hardware: str) -> Decimal:
    return Decimal(str(table.get(hardware or "cpu", table["cpu"])))


def cost_rate(hardware: str) -> Decimal:
    """Inference cost C per compute second on this hardware class."""
    return _rate(settings.BILLING_COST_PER_SECOND, hardware)


def compute_cost(*, seconds: Decimal | int | str | None, hardware: str) -> Decimal:
    """C = compute seconds × the hardware class's rate."""
    return money(Decimal(str(seconds or 0)) * cost_rate(hardware))


def owner_hold(*, app: App, hardware: str, time_limit: int | None) -> Decimal:
    """The owner runs their own app at cost C: free within the monthly allowance, else a hold of the most the
    call can cost (its hardware's rate × the version's hard time limit); settlement charges the real C."""
    if selectors.owner_allowance_left(app=app) > 0:
        return ZERO
    return compute_cost(seconds=Decimal(time_limit or 90), hardware=hardware or "cpu")


def training_rate(hardware: str) -> Decimal:
    """What a compute second of fine-tuning costs its user on this hardware class."""
    return _rate(settings.BILLING_TRAINING_PRICE_PER_SECOND, hardware)


def training_price(*, seconds: Decimal | int | str, hardware: str) -> Decimal:
    """A fine-tuning job's price: compute seconds × the training rate (its estimate, or what it really used)."""
    return money(Decimal(str(seconds)) * training_rate(hardware))


# --- Free calls and quotes ---------------------------------------------------------------------------------

def free_call_available(*, user: User, app: App) -> bool:
    return bool(app.free_calls_per_month) and selectors.free_calls_used(user=user, app=app) < app.free_calls_per_month


@transaction.atomic
def quote_create(*, user: User, app: App) -> Quote:
    """A price for this user's next call, held for settings.BILLING_QUOTE_TTL_SECONDS."""
    if app.pricing_model == PricingModel.FREE or app.owner_id == user.pk or free_call_available(user=user, app=app):
        price = ZERO
    else:
        price = app_price(app=app)
    expires_at = timezone.now() + dt.timedelta(seconds=settings.BILLING_QUOTE_TTL_SECONDS)
    return Quote.objects.create(user=user, app=app, price=price, expires_at=expires_at)


def quote_use(*, user: User, app: App, quote_id: object, now: dt.datetime) -> Decimal | None:
    """Consume a good quote in ONE conditional UPDATE; None when it expired or was used; 400 when unknown."""
    try:
        quote_pk: uuid.UUID | None = uuid.UUID(str(quote_id))
    except ValueError:
        quote_pk = None
    if quote_pk is not None:
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE billing_quote SET used_at = %s WHERE id = %s AND user_id = %s AND app_id = %s "
                "AND used_at IS NULL AND expires_at > %s RETURNING price",
                [now, Quote._meta.pk.get_db_prep_value(quote_pk, connection), user.pk, app.pk, now])
            row = cursor.fetchone()
        if row:
            return money(row[0])
    if quote_pk is None or not Quote.objects.filter(pk=quote_pk, user=user, app=app).exists():
        raise InvalidInput(_("Unknown quote."), fields={"quote_id": [_("This quote does not exist.")]})
    return None


def refuse(message: str, *, code: str, price: Decimal, **extra: Any) -> PaymentRequired:
    """A 402 with the price (and what else explains it) in the error body."""
    return PaymentRequired(message, code=code, extra={"price": str(money(price)), "currency": currency(),
                                                      **{k: str(v) for k, v in extra.items()}})
