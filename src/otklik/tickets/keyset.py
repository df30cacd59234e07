"""Keyset ("cursor") paging of ticket lists: a deep page costs what the first one does (issue 19).

An offset page reads and drops every row before it: the API's page 10,000 of 50 read 500,000 rows at
10⁶ tickets. A cursor names the last row a client got (its sort value and id); the next page starts
right after it, from the sort column's index. Offered for the sorts whose key is one indexed column that
is never empty, the id breaking ties: `id`, `created` and `modified`, either direction. The default
order (a work queue of flags that change every minute) has no stable place to resume from.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from otklik.core.errors import ValidationFailed
from otklik.tickets.models import Ticket

# Sort keys (selectors.SORT_FIELDS) a cursor can follow -> the column.
KEYSET_SORTS = {"id": "id", "created": "created_at", "modified": "modified_at"}


def keyset_sort(sort: str) -> bool:
    """Tell whether pages in this sort order can be followed with a cursor."""
    return sort.lstrip("-") in KEYSET_SORTS


def cursor_encode(ticket: Ticket, sort: str) -> str:
    """Return the cursor that resumes after `ticket` in the `sort` order (an opaque, URL-safe text)."""
    column = KEYSET_SORTS[sort.lstrip("-")]
    value = getattr(ticket, column)
    payload = [sort, value.isoformat() if isinstance(value, datetime) else value, ticket.pk]
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")


def after_cursor(qs: QuerySet[Ticket], sort: str, cursor: str) -> QuerySet[Ticket]:
    """Keep the rows of `qs` (ordered by `sort` and the id) that come after the cursor's row.

    The condition leads with the sort column's own bound (`column >= value`), which the column's index
    answers, so the scan starts at the cursor instead of at the first row; the tie on equal values is
    broken by the id, in the same direction as the sort.
    """
    if not keyset_sort(sort):
        raise ValidationFailed(
            _("A cursor follows the sorts %(keys)s (with '-' for descending).")
            % {"keys": ", ".join(KEYSET_SORTS)},
            field="cursor",
        )
    value, pk = _decode(cursor, sort)
    column = KEYSET_SORTS[sort.lstrip("-")]
    if column == "id":
        return qs.filter(pk__lt=pk) if sort.startswith("-") else qs.filter(pk__gt=pk)
    if sort.startswith("-"):
        return qs.filter(Q(**{f"{column}__lte": value}), Q(**{f"{column}__lt": value}) | Q(pk__lt=pk))
    return qs.filter(Q(**{f"{column}__gte": value}), Q(**{f"{column}__gt": value}) | Q(pk__gt=pk))


def _decode(cursor: str, sort: str) -> tuple[object, int]:
    """Return the cursor's (sort value, id), or refuse a cursor that is damaged or of another sort."""
    refused = ValidationFailed(
        _("The cursor is not valid for this list; start again from the first page."), field="cursor"
    )
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        given_sort, value, pk = json.loads(raw)
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError):
        raise refused from None
    if given_sort != sort or not isinstance(pk, int) or isinstance(pk, bool) or not 0 < pk < 2**63:
        raise refused
    if KEYSET_SORTS[sort.lstrip("-")] == "id":
        return pk, pk
    try:
        when = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise refused
    return when, pk
