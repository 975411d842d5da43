"""pricing"""
import datetime as dt
import logging
import uuid
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from config.api import ApiError
from marketplace.models import App, PricingModel
from marketplace.selectors import app_current_price

from .. import selectors
from ..ledger import (
    money,
)
from ..models import (
    ZERO,
    Quote,
)

logger = logging.getLogger(__name__)


def _currency() -> str:
    return settings.MODELMARKET["CURRENCY"]


def _fee_split(price: Decimal) -> tuple[Decimal, Decimal]:
    """(developer share, platform fee); the fee takes the rounding remainder so they sum to price."""
    share = money(price * (Decimal("1") - settings.MODELMARKET["PLATFORM_FEE"]))
    return share, money(price - share)


def _free_call_available(*, user, app: App) -> bool:
    return bool(app.free_calls_per_month) and selectors.free_calls_used(user=user, app=app) < app.free_calls_per_month


@transaction.atomic
def quote_create(*, user, app: App) -> Quote:
    """A price for this user's next call, held for BILLING['QUOTE_TTL_SECONDS']."""
    if app.pricing_model == PricingModel.FREE or app.owner_id == user.pk or _free_call_available(user=user, app=app):
        price = ZERO
    else:
        price = app_current_price(app=app)
    expires_at = timezone.now() + dt.timedelta(seconds=settings.BILLING["QUOTE_TTL_SECONDS"])
    return Quote.objects.create(user=user, app=app, price=price, expires_at=expires_at)


def _quote_use(*, user, app: App, quote_id, now) -> Decimal | None:
    """Consume a good quote in ONE conditional UPDATE; None when it expired or was used; 400 when unknown."""
    try:
        quote_pk = uuid.UUID(str(quote_id))
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
        raise ApiError(_("Unknown quote."), code="invalid", fields={"quote_id": [_("This quote does not exist.")]})
    return None


def _training_rate(hardware: str) -> Decimal:
    rates = settings.BILLING["TRAINING_PRICE_PER_SECOND"]
    return rates.get(hardware or "cpu", rates["cpu"])


def _job_hardware(job) -> str:
    return getattr(job, "hardware", "") or "cpu"

