"""Billing's contract with inference and training. THE BILLING ISSUE REPLACES THESE BODIES.

Inference calls `prediction_admit` inside the transaction that creates a Prediction (a raised
PaymentRequired rolls the prediction back, so nothing is queued), `prediction_settle` inside the
transaction that marks it succeeded, and `prediction_release` when it fails or is canceled.
Training does the same with the `training_*` functions. Each must be idempotent per object.
"""
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction

from marketplace.selectors import app_current_price


@dataclass(frozen=True)
class Admission:
    price: Decimal
    currency: str


@transaction.atomic
def prediction_admit(*, prediction, quote_id: str | None = None, max_price: Decimal | None = None) -> Admission:
    """Fix the prediction's price and hold it. Raises config.api.PaymentRequired (402) to refuse."""
    price = app_current_price(app=prediction.app)
    return Admission(price=price, currency=settings.MODELMARKET["CURRENCY"])


@transaction.atomic
def prediction_settle(*, prediction) -> None:
    """Once per prediction: the hold becomes a debit, a developer earning, a platform fee; cost C is booked."""


@transaction.atomic
def prediction_release(*, prediction) -> None:
    """The prediction failed or was canceled: release its hold. Users never pay for failures."""


@transaction.atomic
def training_admit(*, job, estimated_seconds: Decimal) -> Admission:
    return Admission(price=Decimal("0"), currency=settings.MODELMARKET["CURRENCY"])


@transaction.atomic
def training_settle(*, job, compute_seconds: Decimal) -> None:
    """Settle a finished job at the hardware rate per compute second."""


@transaction.atomic
def training_release(*, job) -> None:
    """Release a failed or canceled job's hold (charging only what ran, if the policy says so)."""
