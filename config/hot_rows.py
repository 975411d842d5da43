"""Rows of the hottest reads as the model instances the ORM would build, from SQL written once per process.

Building and compiling a small queryset costs more CPU than the database spends running it: in a py-spy
profile of `POST /api/v1/apps/{slug}/predictions/` the API key lookup spent about two thirds of its time in
`QuerySet.filter`/`annotate` and `SQLCompiler.as_sql`, for a query PostgreSQL answers from one index. For
the few reads on every call (the key, the version to run, the demand count, the waiter's re-read) the SQL is
written once from the models' fields, and each row goes through the same converters the ORM applies
(`from_db_value`, the backend's), then `Model.from_db`, so callers get exactly what the queryset gave (tested
field by field, on PostgreSQL and SQLite). The worker's batch finish writes with `bulk_update_rows` likewise.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, models, transaction

Converter = Callable[[Any, Any, Any], Any]


class RowShape:
    """One model's concrete columns under a table alias: the SELECT list, and row values back to an instance."""

    def __init__(self, model: type[models.Model], alias: str, *, using: str = DEFAULT_DB_ALIAS):
        self.model = model
        self.alias = alias
        self.using = using
        self.fields = list(model._meta.concrete_fields)
        self.attnames = [field.attname for field in self.fields]
        self._converters: list[tuple[Any, list[Converter]]] | None = None
        self._by_pk: str | None = None

    @property
    def table(self) -> str:
        return connections[self.using].ops.quote_name(self.model._meta.db_table)

    @property
    def select(self) -> str:
        quote = connections[self.using].ops.quote_name
        return ", ".join(f"{self.alias}.{quote(field.column)}" for field in self.fields)

    def _field_converters(self) -> list[tuple[Any, list[Converter]]]:
        """(column expression, converters) per field; as SQLCompiler.get_converters: the backend's, then the field's."""
        if self._converters is None:
            connection = connections[self.using]
            converters = []
            for field in self.fields:
                column = field.get_col(self.alias)
                converters.append((column, [*connection.ops.get_db_converters(column),
                                            *field.get_db_converters(connection)]))
            self._converters = converters
        return self._converters

    def build(self, row: Sequence[Any], offset: int = 0) -> models.Model:
        """The instance from `row[offset:offset + len(fields)]`."""
        connection = connections[self.using]
        values = []
        for index, (column, converters) in enumerate(self._field_converters()):
            value = row[offset + index]
            for convert in converters:
                value = convert(value, column, connection)
            values.append(value)
        return self.model.from_db(self.using, self.attnames, values)

    def __len__(self) -> int:
        return len(self.fields)

    def refresh(self, instance: models.Model) -> None:
        """`instance.refresh_from_db()` for every concrete field, without building a queryset."""
        if self._by_pk is None:
            quote = connections[self.using].ops.quote_name
            self._by_pk = (f"SELECT {self.select} FROM {self.table} {self.alias} "  # noqa: S608  (metadata only)
                           f"WHERE {self.alias}.{quote(self.model._meta.pk.column)} = %s")
        pk = self.model._meta.pk
        assert pk is not None
        row = fetch_one(self._by_pk, [pk.get_db_prep_value(instance.pk, connections[self.using])], using=self.using)
        if row is None:
            raise self.model.DoesNotExist(f"{self.model.__name__} {instance.pk} is gone")
        fresh = self.build(row)
        for attname in self.attnames:
            setattr(instance, attname, getattr(fresh, attname))
        instance._state.db = self.using


def fetch_one(sql: str, params: Sequence[Any], *, using: str = DEFAULT_DB_ALIAS) -> tuple[Any, ...] | None:
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def fetch_all(sql: str, params: Sequence[Any], *, using: str = DEFAULT_DB_ALIAS) -> list[tuple[Any, ...]]:
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def bulk_update_rows(objs: Sequence[models.Model], fields: Sequence[str], *, using: str = DEFAULT_DB_ALIAS,
                     only_if_in: tuple[str, Sequence[Any]] | None = None) -> set[Any]:
    """`bulk_update(objs, fields)` as ONE `UPDATE … FROM (VALUES …)` on PostgreSQL; answers the pks written.

    Django's bulk_update builds a `CASE WHEN pk = … THEN …` expression per field and row and resolves each one:
    in the worker's batch runner (the one thread a model's batches go through) that cost more CPU than the
    model's forward pass (py-spy, README "Serving"). Values go through each field's `get_db_prep_save`, as
    bulk_update's do; other databases keep bulk_update.

    `only_if_in=(field, values)` writes only the rows whose `field` is still one of `values`, checked under the
    UPDATE's own row locks (a row a concurrent transaction changes is checked again once that one commits), so
    "lock the rows still live, then write them" is one statement instead of two.
    """
    if not objs:
        return set()
    model = type(objs[0])
    connection = connections[using]
    if connection.vendor != "postgresql":
        if only_if_in is not None:
            name, allowed = only_if_in
            live = set(model._default_manager.using(using).select_for_update()
                       .filter(pk__in=[obj.pk for obj in objs], **{f"{name}__in": list(allowed)})
                       .values_list("pk", flat=True))
            objs = [obj for obj in objs if obj.pk in live]
        if objs:
            model._default_manager.using(using).bulk_update(objs, list(fields))
        return {obj.pk for obj in objs}
    meta = model._meta
    quote = connection.ops.quote_name
    pk = meta.pk
    assert pk is not None
    table = quote(meta.db_table)
    columns = [meta.get_field(name) for name in fields]
    row = "(" + ", ".join(["%s"] * (len(columns) + 1)) + ")"
    names = ", ".join(quote(field.column) for field in [pk, *columns])  # type: ignore[union-attr]
    sets = ", ".join(f"{quote(field.column)} = v.{quote(field.column)}::{field.cast_db_type(connection)}"  # type: ignore[union-attr]
                     for field in columns)
    sql = (f"UPDATE {table} SET {sets} "  # noqa: S608  (model metadata only)
           f"FROM (VALUES {', '.join([row] * len(objs))}) AS v({names}) "
           f"WHERE {table}.{quote(pk.column)} = v.{quote(pk.column)}::{pk.cast_db_type(connection)}")
    params: list[Any] = []
    for obj in objs:
        params.append(pk.get_db_prep_value(obj.pk, connection))
        params.extend(field.get_db_prep_save(getattr(obj, field.attname), connection)  # type: ignore[union-attr]
                      for field in columns)
    if only_if_in is not None:
        name, allowed = only_if_in
        condition = meta.get_field(name)
        sql += f" AND {table}.{quote(condition.column)} = ANY(%s)"  # type: ignore[union-attr]
        params.append([condition.get_db_prep_value(value, connection) for value in allowed])  # type: ignore[union-attr]
    sql += f" RETURNING {table}.{quote(pk.column)}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        written = cursor.fetchall()
    column = pk.get_col(meta.db_table)
    converters = [*connection.ops.get_db_converters(column), *pk.get_db_converters(connection)]
    result = set()
    for (value,) in written:
        for convert in converters:
            value = convert(value, column, connection)
        result.add(value)
    return result


def insert_rows(objs: Sequence[models.Model], *, using: str = DEFAULT_DB_ALIAS) -> None:
    """`save(force_insert=True)` of new rows, of one model or several, as ONE statement on PostgreSQL.

    A prediction's admission writes two rows (the Charge and the Prediction): two ORM saves cost more CPU than
    the database spends on them, and inside a transaction they are four round trips (BEGIN, two INSERTs,
    COMMIT). Here every row but the last goes in a data-modifying `WITH` of the last one's INSERT, so the rows
    are written all or none by one statement, which needs no transaction of its own. Values are prepared as
    the ORM's insert does (`pre_save(add=True)`, then `get_db_prep_save`); an auto-increment primary key that
    is not set is left to the database (and stays None on the instance: no caller reads it). No save signals
    are sent. Other databases save each row, in one transaction.
    """
    if not objs:
        return
    connection = connections[using]
    if connection.vendor != "postgresql":
        with transaction.atomic(using=using, savepoint=False):
            for obj in objs:
                obj.save(force_insert=True, using=using)
        return
    quote = connection.ops.quote_name
    statements: list[str] = []
    params: list[Any] = []
    for obj in objs:
        meta = obj._meta
        fields = [field for field in meta.concrete_fields
                  if not (field.primary_key and getattr(field, "db_returning", False) and obj.pk is None)
                  and not getattr(field, "generated", False)]
        columns = ", ".join(quote(field.column) for field in fields)
        placeholders = ", ".join(["%s"] * len(fields))
        statements.append(f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({placeholders})")  # noqa: S608
        params.extend(field.get_db_prep_save(field.pre_save(obj, True), connection) for field in fields)
    *first, last = statements
    sql = (("WITH " + ", ".join(f"r{index} AS ({statement})" for index, statement in enumerate(first)) + " ")
           if first else "") + last
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    for obj in objs:
        obj._state.adding = False
        obj._state.db = using


def transaction_begun(*, using: str = DEFAULT_DB_ALIAS) -> bool:
    """Whether the database has a transaction open on this connection (a statement ran since the last commit).

    Inside `atomic()` nothing is sent until the first statement; a caller that ran none may write its rows
    with one autocommitted statement instead (see `insert_rows`). Unknown drivers answer True (the safe side).
    """
    connection = connections[using]
    raw = connection.connection
    if raw is None:
        return False
    if connection.vendor == "postgresql":
        from psycopg.pq import TransactionStatus

        return raw.info.transaction_status != TransactionStatus.IDLE
    if connection.vendor == "sqlite":
        return bool(raw.in_transaction)
    return True
