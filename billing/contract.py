"""What inference and training may call in billing: admit, settle and release a charge.

This module is the one crossing between the sibling apps (see the import-linter contract in pyproject.toml);
nothing else in billing is imported by inference or training. The billing refactor types it with Protocols.
"""
from billing.services import (  # noqa: F401  (the contract re-exports them)
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

__all__ = [
    "Admission",
    "prediction_admit",
    "prediction_release",
    "prediction_settle",
    "prediction_settle_partial",
    "predictions_finish_batch",
    "training_admit",
    "training_release",
    "training_settle",
]
