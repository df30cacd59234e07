"""Writes the ORM does not offer, or offers too slowly for a hot path.

`insert_from_select`: INSERT ... SELECT built from a queryset. `insert_rows`: the plain multi-row INSERT
that ticket creation uses for its half dozen rows (Model.save costs about three times as much in Python,
and bulk_create on PostgreSQL turns a few rows into UNNEST arrays that psycopg escapes element by element).
`update_row`: one row's UPDATE of named columns from a statement built once, with an optional condition
that makes it a claim (Model.save(update_fields=...) compiles the statement anew every time).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast

from django.db import connection, models

from otklik.core.config_cache import config_model_registered


def insert_from_select(model: type[models.Model], columns: Sequence[str], source: models.QuerySet) -> int:
    """Insert one row into `model` per row of `source` without bringing the rows into Python.

    `source` is a values_list() queryset whose expressions match `columns` (model field names) in order;
    constants go in as Value(..., output_field=...) so that the database adapts them. Return the count.
    """
    meta = model._meta
    quote = _quote_column()
    names = ", ".join(quote(_concrete(meta, c).column) for c in columns)
    sql, params = source.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {connection.ops.quote_name(meta.db_table)} ({names}) {sql}", params)
        return cursor.rowcount


def insert_rows(objs: Sequence[models.Model], *, returning: bool = True) -> None:
    """INSERT unsaved instances of one model in one statement; with `returning`, set their primary keys.

    Field defaults come from the instances (Model.__init__ applied them) and each value goes through the
    field's own `pre_save` and `get_db_prep_save`, as save() does, so JSON, dates and auto_now fields
    are stored alike. No signals are sent, so it refuses the models the configuration cache watches.
    """
    if not objs:
        return
    model = type(objs[0])
    if config_model_registered(model):
        raise ValueError(f"{model._meta.label} is configuration: save it so the cache forgets it")
    fields, sql = _insert_statement(model, len(objs), connection.vendor, returning)
    params = [
        field.get_db_prep_save(field.pre_save(obj, True), connection) for obj in objs for field in fields
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if returning:
            # RETURNING gives rows in VALUES order on PostgreSQL and on SQLite for a single statement.
            for obj, (pk,) in zip(objs, cursor.fetchall(), strict=True):
                obj.pk = pk
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias


def update_row(
    obj: models.Model, fields: Sequence[str], *, only_if: tuple[str, Sequence[Any]] | None = None
) -> int:
    """UPDATE the saved instance's `fields` (names) by primary key; return how many rows changed (0 or 1).

    `only_if=(name, values)` adds "and its column holds one of these values": a row someone else changed
    meanwhile is left alone, and the 0 tells the caller. Values go through each field's `pre_save` and
    `get_db_prep_save`, as save() does. No signals are sent, so configuration models are refused.
    """
    model = type(obj)
    if config_model_registered(model):
        raise ValueError(f"{model._meta.label} is configuration: save it so the cache forgets it")
    condition = (only_if[0], len(only_if[1])) if only_if else None
    columns, sql = _update_statement(model, tuple(fields), connection.vendor, condition)
    params = [field.get_db_prep_save(field.pre_save(obj, False), connection) for field in columns]
    params.append(obj.pk)
    if only_if:
        condition_field = _concrete(model._meta, only_if[0])
        params.extend(condition_field.get_db_prep_value(value, connection) for value in only_if[1])
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


@functools.lru_cache(maxsize=64)
def _update_statement(
    model: type[models.Model], names: tuple[str, ...], vendor: str, condition: tuple[str, int] | None
) -> tuple[tuple[models.Field, ...], str]:
    """Build (once per model, columns, backend and condition) the fields and SQL of a one-row UPDATE."""
    meta = model._meta
    quote = _quote_column()
    fields = tuple(_concrete(meta, name) for name in names)
    sql = (
        f"UPDATE {quote(meta.db_table)} SET {', '.join(f'{quote(f.column)} = %s' for f in fields)} "
        f"WHERE {quote(meta.pk.column)} = %s"
    )
    if condition:
        name, count = condition
        sql += f" AND {quote(_concrete(meta, name).column)} IN ({', '.join(['%s'] * count)})"
    return fields, sql


@functools.lru_cache(maxsize=64)
def _insert_statement(
    model: type[models.Model], rows: int, vendor: str, returning: bool
) -> tuple[tuple[models.Field, ...], str]:
    """Build (once per model, row count and backend) the field list and SQL of a multi-row INSERT."""
    meta = model._meta
    quote = _quote_column()
    fields = tuple(f for f in meta.local_concrete_fields if not (f.primary_key and f.auto_created))
    one_row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES {', '.join([one_row] * rows)}"
    )
    if returning:
        sql += f" RETURNING {quote(meta.pk.column)}"
    return fields, sql


@contextmanager
def pipelined() -> Iterator[None]:
    """Send the statements of the block to PostgreSQL without waiting for each answer (pipeline mode).

    A statement whose result is read (RETURNING, SELECT) still waits, taking everything queued before it
    in the same round trip; the rest is sent when the block ends. An error surfaces at that wait or at
    the block's end, inside the caller's transaction, which then rolls back as usual. Elsewhere (SQLite)
    the block runs as it is. Each round trip saved is a wait for a context switch, the largest cost left
    in a ticket write.
    """
    if connection.vendor != "postgresql":
        yield
        return
    connection.ensure_connection()
    stack: list[list[Callable[[], Any]]] = _pipeline.__dict__.setdefault("stack", [])
    stack.append([])
    try:
        # An error of a queued statement is raised by psycopg when the block ends, outside Django's cursor:
        # wrap_database_errors turns it into django.db's own (IntegrityError...) as a cursor would.
        with connection.wrap_database_errors, connection.connection.pipeline():
            yield
    finally:
        waiting = stack.pop()
    # Only the outermost block leaves pipeline mode; an inner one hands its callbacks on.
    if stack:
        stack[-1].extend(waiting)
        return
    for callback in waiting:
        callback()


_pipeline = threading.local()


def after_pipeline(callback: Callable[[], Any]) -> None:
    """Run `callback` when the pipelined block in progress ends (at once outside one), in the caller's
    transaction: a listener whose work reads what it writes (a row count, an UPDATE's answer) waits for
    the pipeline to end instead of running inside it (automation rules on a new ticket)."""
    stack = getattr(_pipeline, "stack", None)
    if stack:
        stack[-1].append(callback)
        return
    callback()


def _concrete(meta: Any, name: str) -> models.Field:
    """Return the concrete field `name` of a model's _meta (the helpers here never name a relation's reverse)."""
    return cast(models.Field, meta.get_field(name))


def _quote_column() -> Callable[[str | None], str]:
    """Return the backend's quote_name, typed for Field.column (None only on fields without a column)."""
    return cast("Callable[[str | None], str]", connection.ops.quote_name)
