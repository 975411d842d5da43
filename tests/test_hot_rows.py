"""config.hot_rows: a row read without a queryset gives the instance the ORM gives, encrypted fields included."""
from decimal import Decimal

import pytest
from django.utils import timezone

from config.hot_rows import RowShape
from inference.models import Prediction
from tests.factories import AppVersionFactory, UserFactory

pytestmark = pytest.mark.django_db


def _fields(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in type(instance)._meta.concrete_fields}


def test_refresh_reads_every_field_as_refresh_from_db_does():
    version = AppVersionFactory(status="ready")
    prediction = Prediction.objects.create(app=version.app, version=version, user=UserFactory(),
                                           input={"text": "private words"}, price=Decimal("0.012345"))
    stale = Prediction.objects.get(pk=prediction.pk)
    finished = Prediction.objects.get(pk=prediction.pk)
    finished.status, finished.output = "succeeded", {"labels": [{"label": "positive", "score": 0.9}]}
    finished.metrics, finished.completed_at = {"predict_time": 0.01}, timezone.now()
    finished.compute_seconds = Decimal("0.250000")
    finished.save()

    RowShape(Prediction, "p").refresh(stale)
    reference = Prediction.objects.get(pk=prediction.pk)
    assert _fields(stale) == _fields(reference)
    assert stale.output == {"labels": [{"label": "positive", "score": 0.9}]}  # decrypted as the ORM does
    assert stale.input == {"text": "private words"} and stale.completed_at.tzinfo is not None
    assert isinstance(stale.price, Decimal) and stale.status == "succeeded"


def test_refresh_of_a_deleted_row_raises_does_not_exist():
    version = AppVersionFactory(status="ready")
    prediction = Prediction.objects.create(app=version.app, version=version, user=UserFactory(), input={})
    Prediction.objects.filter(pk=prediction.pk).delete()
    with pytest.raises(Prediction.DoesNotExist):
        RowShape(Prediction, "p").refresh(prediction)
