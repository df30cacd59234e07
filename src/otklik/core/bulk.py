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
from datetime import datetime
from typing import Any, cast

from django.conf import settings
from django.db import connection, models

from otklik.core.config_cache import config_model_registered

# psycopg converts a statement's %s placeholders once and keeps the result, but only for statements of at
# most 50 parameters; a new ticket's INSERT has 54 and its three mails' 63, and parsing them again cost
# 0.4-0.8 ms each, every time (a tenth of a creation's CPU). The statements built here are few and fixed
# (one per model and row count, `_insert_statement`), and psycopg's cache stays bounded (128 statements
# of at most 4096 bytes), so let it keep these too. tests/test_intake_cost.py fails if psycopg renames it.
PSYCOPG_CACHED_PARAMS = 256


def _psycopg_cache_widen() -> None:
    """Let psycopg keep the converted form of statements with up to PSYCOPG_CACHED_PARAMS parameters."""
    try:
        from psycopg import _queries
    except ImportError:  # an installation without PostgreSQL's driver
        return
    _queries.MAX_CACHED_STATEMENT_PARAMS = max(
        getattr(_queries, "MAX_CACHED_STATEMENT_PARAMS", 0), PSYCOPG_CACHED_PARAMS
    )


_psycopg_cache_widen()


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
    params = _insert_params(objs, fields)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if returning:
            # RETURNING gives rows in VALUES order on PostgreSQL and on SQLite for a single statement.
            for obj, (pk,) in zip(objs, cursor.fetchall(), strict=True):
                obj.pk = pk
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias


def _insert_params(objs: Sequence[models.Model], fields: tuple[models.Field, ...]) -> list[Any]:
    """Return the database values of the INSERT's `fields` of each instance, row after row, as save() would.

    Each value goes through the field's `pre_save`; a value of the column's own plain type (see
    `_plain_types`) is then passed as it is (an integer wrapped as the backend's operations wrap it),
    anything else through the field's `get_db_prep_save`.
    """
    plain = _plain_types(type(objs[0]), connection.vendor)
    adapt_integer = connection.ops.adapt_integerfield_value
    params = []
    for obj in objs:
        for field, (types, integer_type) in zip(fields, plain, strict=True):
            value = field.pre_save(obj, True)
            kind = type(value)
            if kind not in types or (kind is datetime and value.tzinfo is None):
                params.append(field.get_db_prep_save(value, connection))
            elif integer_type and value is not None:
                params.append(adapt_integer(value, integer_type))
            else:
                params.append(value)
    return params


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


# The exact field classes whose database value is the Python value itself when that value has one of these
# exact types: get_db_prep_save would hand it back unchanged after a dozen calls (an integer only wrapped by
# the backend's adapt_integerfield_value, called directly). Any other value (a lazy
# translation, a bool in an integer column, a naive datetime) and any other field (JSONField, subclasses)
# still goes through the field, as save() does.
_INTEGER_FIELDS = (
    models.IntegerField,
    models.BigIntegerField,
    models.SmallIntegerField,
    models.PositiveIntegerField,
    models.PositiveBigIntegerField,
    models.PositiveSmallIntegerField,
)
_PLAIN_BY_FIELD: dict[type[models.Field], frozenset[type]] = {
    models.CharField: frozenset({type(None), str}),
    models.TextField: frozenset({type(None), str}),
    models.EmailField: frozenset({type(None), str}),
    models.BooleanField: frozenset({type(None), bool}),
}


@functools.lru_cache(maxsize=64)
def _plain_types(model: type[models.Model], vendor: str) -> tuple[tuple[frozenset[type], str], ...]:
    """Return, per field of the model's INSERT, the value types sent unconverted and, for an integer
    column, its internal type (for the backend's wrapping); once per model and backend."""
    fields, _sql = _insert_statement(model, 1, vendor, False)
    return tuple(_plain_types_of(field, vendor) for field in fields)


def _plain_types_of(field: models.Field, vendor: str) -> tuple[frozenset[type], str]:
    if type(field) is models.ForeignKey:
        # A key's value is its target's (None stays None; "" becomes None through the field).
        return _plain_types_of(field.target_field, vendor)
    if type(field) is models.DateTimeField and vendor == "postgresql" and settings.USE_TZ:
        # An aware datetime is passed as it is by PostgreSQL's operations (insert_rows checks the awareness);
        # SQLite's turn it into text.
        return frozenset({type(None), datetime}), ""
    if type(field) in (models.AutoField, models.BigAutoField):
        return frozenset({type(None), int}), ""  # their conversion only checks the value (AutoFieldMixin)
    if type(field) in _INTEGER_FIELDS:
        return frozenset({type(None), int}), field.get_internal_type()
    return _PLAIN_BY_FIELD.get(type(field), frozenset()), ""


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
