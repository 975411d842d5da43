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


def test_the_per_call_reads_work_on_this_database():
    """The hand-written statements on whichever database runs the suite (`make test-sqlite` runs this file on
    SQLite too, where UUIDs, booleans and datetimes are stored differently): key lookup, target, demand."""
    import datetime as dt
    import uuid

    from accounts.selectors import api_key_get_by_raw
    from accounts.services import api_key_create
    from billing.models import Charge, ChargeStatus
    from billing.services.pricing import app_demand
    from inference.selectors import prediction_target
    from tests.factories import LibraryEntryFactory, PaidAppFactory

    user = UserFactory()
    created = api_key_create(user=user, name="k", scopes=["predict"], spend_cap=Decimal("5"))
    found = api_key_get_by_raw(raw_key=created.raw_key)
    assert found.pk == created.api_key.pk and found.user.pk == user.pk and found.spend_cap == Decimal("5")
    assert found.user.is_moderator is False and found.created_at.tzinfo is not None

    app = PaidAppFactory(status="published")
    version = AppVersionFactory(app=app, status="ready", validated_at=timezone.now())
    LibraryEntryFactory(user=user, app=app)
    target = prediction_target(user=user, slug=app.slug)
    assert target.pk == version.pk and target.app.pk == app.pk and target.app.caller_has_app is True
    assert target.held_for_review is False and target.app.base_price == app.base_price

    now = timezone.now()
    for age in (5, 10, app.window_seconds + 60):
        charge = Charge.objects.create(subject=f"prediction:{uuid.uuid4()}", user=user, app=app,
                                       price=Decimal("0.01"), status=ChargeStatus.HELD)
        Charge.objects.filter(pk=charge.pk).update(created_at=now - dt.timedelta(seconds=age))
    assert app_demand(app=app, now=now) == 2  # the one outside the window is not counted


def test_insert_rows_writes_what_save_writes_in_one_statement():
    """A Charge (auto id left to the database) and a Prediction (encrypted input, JSON, Decimals, auto_now_add)
    through one INSERT read back equal to twins saved by the ORM."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from billing.models import Charge
    from config.hot_rows import insert_rows

    version = AppVersionFactory(status="ready")
    user = UserFactory()

    def pair(tag: str):
        prediction = Prediction(app=version.app, version=version, user=user, input={"text": f"private {tag}"},
                                price=Decimal("0.012345"), webhook_events_filter=["completed"], metrics={"a": 1})
        charge = Charge(subject=f"prediction:{prediction.pk}", user=user, app=version.app, price=Decimal("0.012345"),
                        hardware="cpu")
        return charge, prediction

    charge, prediction = pair("one")
    with CaptureQueriesContext(connection) as context:
        insert_rows([charge, prediction])
    sqls = [q["sql"] for q in context.captured_queries]
    if connection.vendor == "postgresql":
        assert len(sqls) == 1 and sqls[0].startswith("WITH"), sqls
    else:  # SQLite: one INSERT per row, in one transaction
        assert sum(sql.startswith("INSERT") for sql in sqls) == 2, sqls
    assert not prediction._state.adding and charge.created_at and prediction.created_at
    twin_charge, twin = pair("two")
    twin_charge.save(force_insert=True)
    twin.save(force_insert=True)

    def fields(instance, skip):
        return {k: v for k, v in _fields(instance).items() if k not in skip}

    skip = {"id", "subject", "input", "created_at"}
    stored = Prediction.objects.get(pk=prediction.pk)
    assert fields(stored, skip) == fields(Prediction.objects.get(pk=twin.pk), skip)
    assert stored.input == {"text": "private one"} and stored.created_at == prediction.created_at
    stored_charge = Charge.objects.get(subject=charge.subject)
    assert fields(stored_charge, skip) == fields(Charge.objects.get(subject=twin_charge.subject), skip)


def test_insert_rows_writes_all_or_none():
    """The second row fails (its primary key exists): the first one is not written either."""
    from django.db import IntegrityError, transaction

    from billing.models import Charge
    from config.hot_rows import insert_rows

    version = AppVersionFactory(status="ready")
    user = UserFactory()
    taken = Prediction.objects.create(app=version.app, version=version, user=user, input={})
    clash = Prediction(id=taken.pk, app=version.app, version=version, user=user, input={})
    charge = Charge(subject="prediction:clash", user=user, app=version.app, price=Decimal("0"))
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_rows([charge, clash])
    assert not Charge.objects.filter(subject="prediction:clash").exists()


@pytest.mark.django_db(transaction=True)
def test_transaction_begun_tells_whether_a_statement_ran():
    from django.db import connection, transaction

    from config.hot_rows import transaction_begun

    UserFactory()  # a connection exists
    assert not transaction_begun()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            assert not transaction_begun()  # psycopg sends BEGIN only before the first statement
        else:
            assert transaction_begun()  # SQLite: Django sends BEGIN IMMEDIATE at once (settings' transaction_mode)
        Prediction.objects.exists()
        assert transaction_begun()
    assert not transaction_begun()
