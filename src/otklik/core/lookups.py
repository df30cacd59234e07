"""Query conditions the ORM writes in a shape PostgreSQL cannot use an index for.

`in_subquery(field, queryset)`: `field IN (subquery)` as `field = ANY(ARRAY(subquery))` on PostgreSQL.
OR-ed with other conditions, `IN (subquery)` becomes a hashed SubPlan that PostgreSQL can only test row
by row, so a client's list (`author = me OR id IN (my copies)`) read the whole newest-first index to find
a client's twenty tickets: 83,000 index entries at 100,000 tickets, growing with the table. The ARRAY
form is computed once (an InitPlan) and is an index condition, so each branch of the OR reads its own
index (a BitmapOr) and the list costs the same at any size. SQLite keeps the plain IN.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import BooleanField, F, Func, Q, QuerySet, Subquery


class _InArray(Func):
    """`<field> = ANY(ARRAY(<subquery>))`, a condition (filter on it with Q(...))."""

    # The two expressions joined: the field, then the subquery, which brings its own parentheses.
    template = "%(expressions)s)"
    arg_joiner = " = ANY(ARRAY"
    output_field = BooleanField()

    def __init__(self, field: str, queryset: QuerySet) -> None:
        super().__init__(F(field), Subquery(queryset))


def in_subquery(field: str, queryset: QuerySet) -> Q:
    """Return `Q(<field>__in=queryset)` in the form the database can answer from an index inside an OR.

    `queryset` selects one column (values()/values_list()) of the field's type; `field` names a field of
    the filtered model (`pk` for the primary key).
    """
    if connection.vendor != "postgresql":
        return Q(**{f"{field}__in": queryset})
    return Q(_InArray(field, queryset))
