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


def test_bulk_update_rows_writes_what_bulk_update_writes():
    """Mixed rows (an output and a NULL one, an error, JSON metrics, Decimals, datetimes) through one
    UPDATE … FROM (VALUES …) read back equal to the same rows written by Django's bulk_update."""
    from config.hot_rows import bulk_update_rows

    version = AppVersionFactory(status="ready")
    user = UserFactory()
    fields = ["status", "output", "error", "metrics", "compute_seconds", "completed_at"]
    now = timezone.now()

    def make_batch():
        rows = [Prediction.objects.create(app=version.app, version=version, user=user, input={"text": str(n)})
                for n in range(3)]
        rows[0].status, rows[0].output, rows[0].metrics = "succeeded", {"labels": [{"label": "é", "score": 1}]}, {
            "batch_size": 3, "queue_ms": 1.5}
        rows[1].status, rows[1].output, rows[1].error = "failed", None, "The model failed: 'quoted' \\ text"
        rows[2].status, rows[2].metrics = "succeeded", {}
        for row in rows:
            row.compute_seconds, row.completed_at = Decimal("0.123456"), now
        return rows

    ours, django = make_batch(), make_batch()
    bulk_update_rows(ours, fields)
    Prediction.objects.bulk_update(django, fields)
    for mine, theirs in zip(ours, django, strict=True):
        got, want = Prediction.objects.get(pk=mine.pk), Prediction.objects.get(pk=theirs.pk)
        assert {f: getattr(got, f) for f in fields} == {f: getattr(want, f) for f in fields}
    assert Prediction.objects.get(pk=ours[1].pk).output is None
    bulk_update_rows([], fields)  # nothing to do
