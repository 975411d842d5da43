"""Model cards: what a buyer reads before trusting a version (issue 14, part 4).

Six structured fields on `AppVersion`: base model, training data, evaluation metrics (name -> value), intended
use, limitations and licence. The owner edits them (console and API); a fine-tuning job fills the empty ones
from what it knows (`model_card_from_training` takes the job's plain `model_card` JSON, so marketplace never
imports training).
"""
from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from config.errors import InvalidInput, PermissionDenied

from .models import AppVersion

TEXT_FIELDS = ("base_model", "training_data", "intended_use", "limitations", "license")
CARD_FIELDS = (*TEXT_FIELDS, "evaluation_metrics")
MAX_LENGTHS = {"base_model": 200, "training_data": 4000, "intended_use": 4000, "limitations": 4000, "license": 100}
MAX_METRICS = 20
MAX_METRIC_NAME = 60
MAX_METRIC_TEXT = 60
# Which numbers of a training job's metrics make the card (in this order), and how they are named there.
TRAINING_METRICS = ("eval_accuracy", "eval_loss", "loss", "epoch")

MetricValue = float | int | str


def metrics_clean(raw: Any) -> dict[str, MetricValue]:
    """Evaluation metrics as `{name: number or short text}`; raises InvalidInput on anything else."""
    if raw in (None, ""):
        return {}
    if not isinstance(raw, dict):
        raise InvalidInput(_("Evaluation metrics must be an object of names and values."),
                           fields={"evaluation_metrics": [_("Expected an object such as {\"accuracy\": 0.91}.")]})
    if len(raw) > MAX_METRICS:
        message = _("At most %(limit)d evaluation metrics.") % {"limit": MAX_METRICS}
        raise InvalidInput(message, fields={"evaluation_metrics": [message]})
    clean: dict[str, MetricValue] = {}
    for name, value in raw.items():
        key = str(name).strip()
        if not key or len(key) > MAX_METRIC_NAME:
            message = _("Metric names must have 1 to %(limit)d characters.") % {"limit": MAX_METRIC_NAME}
            raise InvalidInput(message, fields={"evaluation_metrics": [message]})
        clean[key] = _metric_value(key, value)
    return clean


def _metric_value(name: str, value: Any) -> MetricValue:
    if isinstance(value, bool):
        value = str(value).lower()
    if isinstance(value, int):
        return value
    if isinstance(value, float | Decimal):
        number = float(value)
        if not math.isfinite(number):
            message = _("%(name)s: the value must be a finite number.") % {"name": name}
            raise InvalidInput(message, fields={"evaluation_metrics": [message]})
        return round(number, 6)
    if isinstance(value, str) and 0 < len(value.strip()) <= MAX_METRIC_TEXT:
        return value.strip()
    message = _("%(name)s: give a number or a short text (up to %(limit)d characters).") % {
        "name": name, "limit": MAX_METRIC_TEXT}
    raise InvalidInput(message, fields={"evaluation_metrics": [message]})


def metrics_parse_text(text: str) -> dict[str, MetricValue]:
    """The console's metrics box: one `name: value` per line; numbers stay numbers. Raises InvalidInput."""
    found: dict[str, Any] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, sep, value = line.partition(":")
        if not sep:
            name, sep, value = line.partition("=")
        if not sep or not name.strip() or not value.strip():
            message = _("Line %(n)d: write one metric per line as name: value.") % {"n": number}
            raise InvalidInput(message, fields={"evaluation_metrics": [message]})
        found[name.strip()] = _number_or_text(value.strip())
    return metrics_clean(found)


def metrics_as_text(metrics: dict[str, Any]) -> str:
    return "\n".join(f"{name}: {value}" for name, value in (metrics or {}).items())


def _number_or_text(value: str) -> MetricValue:
    try:
        number = Decimal(value)
    except InvalidOperation:
        return value
    if not number.is_finite():
        return value
    return int(number) if number == number.to_integral_value() and "." not in value else float(number)


def _values_clean(values: dict[str, Any]) -> dict[str, Any]:
    unknown = set(values) - set(CARD_FIELDS)
    if unknown:
        raise InvalidInput(_("Unknown model card fields: %(names)s.") % {"names": ", ".join(sorted(unknown))},
                           fields={name: [_("Unknown field.")] for name in sorted(unknown)})
    clean: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name, value in values.items():
        if name == "evaluation_metrics":
            clean[name] = metrics_clean(value)
            continue
        text = "" if value is None else str(value).strip()
        if len(text) > MAX_LENGTHS[name]:
            errors[name] = [_("At most %(limit)d characters.") % {"limit": MAX_LENGTHS[name]}]
        clean[name] = text
    if errors:
        raise InvalidInput(next(iter(errors.values()))[0], fields=errors)
    return clean


@transaction.atomic
def version_model_card_update(*, version: AppVersion, actor: User, **values: Any) -> AppVersion:
    """The owner edits the card; fields not given stay as they are."""
    if not version.app.is_managed_by(actor):
        raise PermissionDenied(_("Only the app's owner can edit its model cards."))
    clean = _values_clean(values)
    if not clean:
        return version
    locked = AppVersion.objects.select_for_update().get(pk=version.pk)
    for name, value in clean.items():
        setattr(locked, name, value)
    locked.save(update_fields=list(clean))
    return locked


@transaction.atomic
def version_model_card_fill(*, version: AppVersion, values: dict[str, Any]) -> AppVersion:
    """Fill the card's empty fields (a fine-tuning job publishing its result); what the owner wrote stays."""
    clean = _values_clean(values)
    locked = AppVersion.objects.select_for_update().get(pk=version.pk)
    changed = [name for name, value in clean.items() if value and not getattr(locked, name)]
    for name in changed:
        setattr(locked, name, clean[name])
    if changed:
        locked.save(update_fields=changed)
    return locked


def model_card_from_training(*, training_card: dict[str, Any], base: AppVersion | None = None) -> dict[str, Any]:
    """The card of a fine-tuned version, from the job's `model_card` JSON (base, dataset, metrics, labels).

    Intended use, limitations and licence are inherited from the base version's card when it has them.
    """
    source = training_card.get("base") or {}
    dataset = training_card.get("dataset") or {}
    metrics = training_card.get("metrics") or {}
    values: dict[str, Any] = {}
    if source.get("app"):
        values["base_model"] = f"{source['app']} {source.get('version', '')}".strip()
        if base is not None and base.base_model:
            values["base_model"] = _("%(app)s %(version)s (itself from %(origin)s)") % {
                "app": source["app"], "version": source.get("version", ""), "origin": base.base_model}
    if dataset.get("name"):
        text = _("Dataset “%(name)s”: %(rows)s rows (%(train)s for training, %(validation)s for validation, "
                 "seed %(seed)s).") % {"name": dataset["name"], "rows": dataset.get("rows", "?"),
                                       "train": dataset.get("train_rows", "?"),
                                       "validation": dataset.get("validation_rows", "?"),
                                       "seed": dataset.get("seed", "?")}
        labels = training_card.get("labels") or dataset.get("labels") or []
        if labels:
            text += " " + _("Labels: %(labels)s.") % {"labels": ", ".join(str(label) for label in labels)}
        values["training_data"] = text
    evaluation = {name: metrics[name] for name in TRAINING_METRICS
                  if isinstance(metrics.get(name), int | float) and not isinstance(metrics.get(name), bool)}
    if evaluation:
        values["evaluation_metrics"] = evaluation
    if base is not None:
        for name in ("intended_use", "limitations", "license"):
            if getattr(base, name):
                values[name] = getattr(base, name)
    return values


def model_card_has_content(version: AppVersion) -> bool:
    return any(getattr(version, name) for name in CARD_FIELDS)


def model_card_values(version: AppVersion) -> dict[str, Any]:
    """The card as the API shows it."""
    return {name: getattr(version, name) for name in CARD_FIELDS}
