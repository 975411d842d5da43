"""Datasets: upload with a validation report, the train/validation split, deletion."""
from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from config.errors import Conflict, InvalidInput, PermissionDenied

from .. import selectors
from ..datasets import DatasetError, DatasetReport, parse_dataset, split_rows
from ..models import Dataset, DatasetStatus


def require_developer(user: User | None) -> None:
    if not (user and user.is_authenticated and user.is_developer):
        raise PermissionDenied(_("Become a developer first: accept the developer terms."))


def _clean_split(validation_fraction: Any, seed: Any) -> tuple[Decimal, int]:
    errors: dict[str, list[str]] = {}
    try:
        fraction = Decimal(str(validation_fraction)).quantize(Decimal("0.001"))
        if not Decimal("0.05") <= fraction <= Decimal("0.5"):
            raise ValueError
    except (ValueError, ArithmeticError):
        errors["validation_fraction"] = [_("The validation share must be between 0.05 and 0.5.")]
        fraction = Decimal("0.2")
    try:
        seed = int(seed)
        if not 0 <= seed < 2**31:
            raise ValueError
    except (TypeError, ValueError):
        errors["seed"] = [_("The seed must be a whole number between 0 and 2147483647.")]
    if errors:
        raise InvalidInput(next(iter(errors.values()))[0], fields=errors)
    return fraction, seed


def _too_large(size: int) -> InvalidInput:
    """The 413 for a dataset file over MAX_DATASET_BYTES (checked before anything is read or stored)."""
    max_bytes = settings.MAX_DATASET_BYTES
    return InvalidInput(_("The file is %(size)d bytes; datasets can be at most %(max)d bytes.")
                        % {"size": size, "max": max_bytes}, code="too_large", status=413,
                        fields={"file": [_("File too large.")]})


@transaction.atomic
def dataset_create(*, owner: User, file: UploadedFile | ContentFile, name: str = "",
                   validation_fraction: Any = "0.2", seed: Any = 42) -> Dataset:
    """Store the file privately and record its validation report.

    A dataset with content problems is kept with status `invalid` and its error, so the owner sees the
    report; a file over the size limit is refused before anything is read or stored.
    """
    require_developer(owner)
    fraction, seed = _clean_split(validation_fraction, seed)
    max_bytes = settings.MAX_DATASET_BYTES
    if file.size is not None and file.size > max_bytes:
        raise _too_large(file.size)
    file.seek(0)
    raw = file.read()
    filename = Path(getattr(file, "name", "") or "dataset.csv").name
    dataset = Dataset(owner=owner, name=(name or filename)[:200], size=len(raw),
                      sha256=hashlib.sha256(raw).hexdigest(), validation_fraction=fraction, seed=seed)
    report: DatasetReport | None
    try:
        report = parse_dataset(raw, filename)
    except DatasetError as exc:
        dataset.status = DatasetStatus.INVALID
        dataset.error_code = exc.code
        dataset.error = exc.message
        report = exc.report
        if exc.code == "too_large":
            raise InvalidInput(exc.message, code="too_large", status=413, fields={"file": [exc.message]}) from None
    else:
        dataset.status = DatasetStatus.READY
    if report is not None:
        dataset.format = report.format
        dataset.total_rows = report.total_rows
        dataset.empty_rows = report.empty_rows
        dataset.duplicate_rows = report.duplicate_rows
        dataset.conflicting_rows = report.conflicting_rows
        dataset.labels = report.labels
        dataset.rows = report.usable_rows
        if report.rows:
            dataset.mean_words = round(sum(len(t.split()) for t, _label in report.rows) / len(report.rows), 2)
        if dataset.status == DatasetStatus.READY:
            train, validation = split_rows(report.rows, validation_fraction=fraction, seed=seed)
            dataset.train_rows, dataset.validation_rows = len(train), len(validation)
    dataset.file.save(filename, ContentFile(raw), save=False)
    dataset.save()
    return dataset


@transaction.atomic
def dataset_set_split(*, dataset: Dataset, validation_fraction: Any, seed: Any) -> Dataset:
    """Change the split; jobs already started keep the split they were given (it is in their model card)."""
    fraction, seed = _clean_split(validation_fraction, seed)
    dataset = Dataset.objects.select_for_update().get(pk=dataset.pk)
    dataset.validation_fraction, dataset.seed = fraction, seed
    if dataset.status == DatasetStatus.READY:
        train, validation = selectors.dataset_split(dataset=dataset)
        dataset.train_rows, dataset.validation_rows = len(train), len(validation)
    dataset.save(update_fields=["validation_fraction", "seed", "train_rows", "validation_rows"])
    return dataset


@transaction.atomic
def dataset_delete(*, dataset: Dataset) -> None:
    if dataset.jobs.exists():
        raise Conflict(_("This dataset was used by training jobs; it is kept for their model cards."),
                       code="dataset_in_use")
    dataset.file.delete(save=False)
    dataset.delete()
