"""Erasing prediction inputs and outputs: retention, `store: false`, account deletion.

The one place that writes `data_removed`. Inference's own answer paths call it (a `store: false` prediction is
answered once, then erased); the privacy app (the top layer) builds its services on it.

`store: false` answers once:
- without a `completed` webhook, the first answer that shows the prediction finished (the create answer with
  `Prefer: wait`, a GET, the list, a cancel, the stream's `done` event, the prediction page) carries the input and
  output, and erases them in the same transaction (the row is locked, so two concurrent reads cannot both get it);
- with a `completed` webhook, the webhook carries the answer: API reads show `input`/`output` as null, and both are
  erased once the delivery ends (delivered, or out of retries).
"""
from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from django.db import transaction

from .models import TERMINAL_STATUSES, Prediction, WebhookDelivery


def prediction_data_erase(*, prediction_ids: Iterable[Any]) -> int:
    """Erase input and output of these predictions (prices, metrics and the ledger stay). Answers rows changed.

    Receivers' answers to their webhooks may echo the payload back: their stored response bodies go too.
    """
    ids = list(prediction_ids)
    if not ids:
        return 0
    with transaction.atomic():
        changed = Prediction.objects.filter(pk__in=ids, data_removed=False).update(
            input=None, output=None, data_removed=True)
        WebhookDelivery.objects.filter(prediction_id__in=ids).exclude(response_body="").update(response_body="")
    return changed


def webhook_carries_answer(prediction: Prediction) -> bool:
    """A `store: false` prediction whose `completed` webhook is the one delivery of its answer."""
    return bool(prediction.webhook) and "completed" in (prediction.webhook_events_filter or [])


def prediction_answer_once(*, prediction: Prediction) -> Prediction:
    """The prediction as this answer may show it. Only `store: false` predictions change (see the module doc).

    Answers a prediction with `input`/`output` for the one answer that delivers them, and erases them in the same
    transaction; every later answer gets the erased row (`data_removed`).
    """
    if prediction.store or prediction.data_removed or prediction.status not in TERMINAL_STATUSES:
        return prediction
    if webhook_carries_answer(prediction):
        hidden = copy.copy(prediction)
        hidden.input = hidden.output = None
        return hidden
    with transaction.atomic():
        row = (Prediction.objects.select_for_update(of=("self",)).select_related("app", "version")
               .filter(pk=prediction.pk).first())
        if row is None:
            return prediction
        if not row.data_removed:
            prediction_data_erase(prediction_ids=[row.pk])
    return row  # read before the erase: this answer carries the data, the database no longer does


def prediction_webhook_ended(*, delivery_id: int) -> None:
    """A webhook delivery ended (delivered, or out of retries): a `store: false` answer it carried is erased."""
    delivery = (WebhookDelivery.objects.select_related("prediction")
                .filter(pk=delivery_id, event="completed").first())
    if delivery is None:
        return
    prediction = delivery.prediction
    if not prediction.store and not prediction.data_removed and prediction.status in TERMINAL_STATUSES:
        prediction_data_erase(prediction_ids=[prediction.pk])
