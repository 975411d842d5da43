"""What inference and training may call in billing, and what billing reads of their objects.

This module is the one crossing between the sibling apps (see the import-linter contract in pyproject.toml):
inference and training import nothing else of billing, and billing imports neither of them. What billing
needs of a prediction or a training job is written down below as Protocols; inference's `Prediction` and
training's `TrainingJob` satisfy them as they are.

Which calls move money (each is idempotent per prediction or job: its Charge row moves held -> settled or
released exactly once):

- `prediction_admit`, `training_admit` fix the price and HOLD it on the user's wallet. Call them inside the
  transaction that creates the prediction or job: a refusal raises `config.errors.PaymentRequired` (402) and
  rolls the caller back, so nothing is queued. A held amount is not spent yet.
- `prediction_settle`, `prediction_settle_partial`, `training_settle` and `predictions_finish_batch` (for
  the succeeded ones) MOVE money: the wallet is debited, the developer and the platform are credited, and the
  compute cost C is booked.
- `prediction_release`, `training_release` and `predictions_finish_batch` (for the failed ones) end the hold:
  users never pay for failures (C is still booked as the platform's cost).
- `training_price`, `training_rate` only compute: the price a job's estimate shows.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any, Protocol

from accounts.models import ApiKey, User
from billing.services.admission import (
    Admission,
    prediction_admit,
    prediction_release,
    prediction_settle,
    prediction_settle_partial,
    predictions_finish_batch,
    training_admit,
    training_release,
    training_settle,
)
from billing.services.pricing import training_price, training_rate
from marketplace.models import App


class VersionLimits(Protocol):
    """The app version a prediction runs: its hard time limit bounds what an owner's own call can cost."""

    @property
    def time_limit(self) -> int: ...


class BillablePrediction(Protocol):
    """What billing reads of a prediction: its id, who runs which app with which key, where, and for how long."""

    @property
    def pk(self) -> Any: ...

    @property
    def user(self) -> User: ...

    @property
    def app(self) -> App: ...

    @property
    def api_key_id(self) -> int | None: ...

    @property
    def api_key(self) -> ApiKey | None: ...

    @property
    def version(self) -> VersionLimits: ...

    @property
    def hardware(self) -> str: ...

    @property
    def compute_seconds(self) -> Decimal | None: ...


class BillableJob(Protocol):
    """What billing reads of a fine-tuning job: its id, who pays, and the hardware class it runs on."""

    @property
    def pk(self) -> Any: ...

    @property
    def owner(self) -> User: ...

    @property
    def hardware(self) -> str: ...


__all__ = [
    "Admission",
    "BillableJob",
    "BillablePrediction",
    "VersionLimits",
    "prediction_admit",
    "prediction_release",
    "prediction_settle",
    "prediction_settle_partial",
    "predictions_finish_batch",
    "training_admit",
    "training_price",
    "training_rate",
    "training_release",
    "training_settle",
]
