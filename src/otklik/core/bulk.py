"""Set-based writes the ORM does not offer: INSERT ... SELECT built from a queryset."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection, models


def insert_from_select(model: type[models.Model], columns: Sequence[str], source: models.QuerySet) -> int:
    """Insert one row into `model` per row of `source` without bringing the rows into Python.

    `source` is a values_list() queryset whose expressions match `columns` (model field names) in order;
    constants go in as Value(..., output_field=...) so that the database adapts them. Return the count.
    """
    meta = model._meta
    names = ", ".join(connection.ops.quote_name(meta.get_field(c).column) for c in columns)
    sql, params = source.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {connection.ops.quote_name(meta.db_table)} ({names}) {sql}", params)
        return cursor.rowcount
