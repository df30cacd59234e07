"""Reads of the reports: the support desk tables (F-25), computed by the database in one grouped statement."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import get_language

from otklik.dictionaries.models import DictionaryEntry
from otklik.reports.period import responsible_in_group
from otklik.sla.models import SlaLevel
from otklik.tickets.models import Ticket
from otklik.tickets.policies import TicketPolicy
from otklik.workflow.selectors import process_labels

# The desk's dimensions, in the order the page offers them (each groups by one key column: _key_column).
_ENTRY_KINDS = ("criticality", "status", "difficulty", "category", "source", "mark")
DIMENSIONS: tuple[str, ...] = (
    "responsible",
    "criticality",
    "status",
    "difficulty",
    "category",
    "source",
    "mark",
    "sla",
    "process_state",
    "l1_outcome",
)
# The counts of a row, as the API and the exports name them.
COUNTS = ("open_client_last", "open_support_last", "open", "closed", "total")
EXTRA_COUNTS = ("messages", "overdue_messages", "overdue")
_OPEN = Q(closed_at__isnull=True)


@dataclass(frozen=True)
class DeskFilters:
    """What the desk counts: tickets created between two days (inclusive, in the viewer's time zone), of one
    SLA, whose responsible belongs to one staff group; empty values mean "any"."""

    created_from: dt.date | None = None
    created_to: dt.date | None = None
    sla: int | None = None
    group: int | None = None


@dataclass
class DeskRow:
    """One line of the desk: the dimension's value and the counts of its tickets."""

    key: str | int | None
    name: str
    counts: dict[str, int] = field(default_factory=dict)
    # The list filter's value for this row (an id, or "none"); None when the list cannot select the row.
    list_value: str | None = None


@dataclass
class Desk:
    by: str
    rows: list[DeskRow]
    totals: dict[str, int]


def day_bounds(filters: DeskFilters, tz: dt.tzinfo) -> tuple[dt.datetime | None, dt.datetime | None]:
    """Return the aware instants the period starts at and ends before: midnights in the viewer's time zone."""

    def midnight(day: dt.date | None, plus: int = 0) -> dt.datetime | None:
        if day is None:
            return None
        return dt.datetime.combine(day + dt.timedelta(days=plus), dt.time.min, tzinfo=tz)

    return midnight(filters.created_from), midnight(filters.created_to, 1)


def desk_scope(policy: TicketPolicy, filters: DeskFilters, tz: dt.tzinfo | None = None) -> QuerySet[Ticket]:
    """Return the tickets the desk counts: those the user may see, narrowed by the filters."""
    qs = policy.visible(Ticket.objects.all())
    start, end = day_bounds(filters, tz or timezone.get_current_timezone())
    if start is not None:
        qs = qs.filter(created_at__gte=start)
    if end is not None:
        qs = qs.filter(created_at__lt=end)
    if filters.sla is not None:
        qs = qs.filter(sla_id=filters.sla)
    return responsible_in_group(qs, filters.group)


def _key_column(by: str) -> str:
    """Return the column a dimension groups by: an integer key, or the process's code (the ticket's copy of
    its place, so that no join to a million places is needed)."""
    if by in ("process_state", "l1_outcome"):
        return by
    return f"{by}_id"


def _in_language(ru: str | None, en: str | None) -> str:
    if (get_language() or "ru").startswith("en"):
        return en or ru or ""
    return ru or en or ""


def _named_rows(by: str, grouped: dict[Any, dict[str, int]], none_name: str) -> list[DeskRow]:
    """Return the desk's rows for the grouped counts, named (and ordered) from the small table the keys
    point to: one query, whatever the number of tickets (the big statement groups by the key alone)."""
    ids = [key for key in grouped if key is not None]
    rows: list[tuple[Any, DeskRow]] = []
    if by == "responsible":
        for user in User.objects.filter(pk__in=ids).only("username", "first_name", "last_name"):
            full = f"{user.first_name} {user.last_name}".strip()
            row = DeskRow(user.pk, full or user.username, grouped[user.pk], str(user.pk))
            rows.append(((user.username, user.pk), row))
    elif by == "sla":
        for sla in SlaLevel.objects.filter(pk__in=ids).only("name_ru", "name_en"):
            rows.append(((sla.name_ru, sla.pk), DeskRow(sla.pk, sla.name, grouped[sla.pk], str(sla.pk))))
    elif by in _ENTRY_KINDS:
        entries = DictionaryEntry.objects.filter(pk__in=ids).only("code", "name_ru", "name_en", "sort")
        for e in entries:
            row = DeskRow(e.code or str(e.pk), _in_language(e.name_ru, e.name_en), grouped[e.pk], str(e.pk))
            rows.append(((e.sort, e.pk), row))
    else:
        labels = process_labels(by)
        for code in ids:
            rows.append(((code,), DeskRow(code, labels.get(code, code), grouped[code], code)))
    rows.sort(key=lambda pair: pair[0])
    out = [row for _order, row in rows]
    if None in grouped:
        out.append(DeskRow(None, none_name, grouped[None], "none"))  # the list's "not set" filter
    return out


def desk(
    policy: TicketPolicy,
    filters: DeskFilters,
    by: str,
    *,
    tz: dt.tzinfo | None = None,
    none_name: str = "—",
) -> Desk:
    """Count the visible tickets per value of `by` in one grouped statement (F-25 "Рабочий стол").

    Each row: open with the client's message last, open with support's last, open, closed, total, plus the
    tickets' messages, overdue messages and the open overdue tickets. The totals are the rows' sums: every
    ticket falls in exactly one row (a missing value is the row keyed None).
    """
    if by not in DIMENSIONS:
        raise ValueError(by)
    key = _key_column(by)
    grouped: dict[Any, dict[str, int]] = {}
    for values in (
        desk_scope(policy, filters, tz)
        .order_by()
        .values(key)
        .annotate(
            open_client_last=Count("pk", filter=_OPEN & Q(last_message_by_support=False)),
            open_support_last=Count("pk", filter=_OPEN & Q(last_message_by_support=True)),
            open=Count("pk", filter=_OPEN),
            closed=Count("pk", filter=Q(closed_at__isnull=False)),
            total=Count("pk"),
            messages=Coalesce(Sum("message_count"), 0),
            overdue_messages=Coalesce(Sum("overdue_count"), 0),
            overdue=Count("pk", filter=_OPEN & Q(is_overdue=True)),
        )
    ):
        counts = {name: int(values[name] or 0) for name in (*COUNTS, *EXTRA_COUNTS)}
        # A process without an outcome yet ("") and a ticket outside the process are one "none" row.
        row_key = values[key] or None
        if row_key in grouped:
            grouped[row_key] = {n: grouped[row_key][n] + counts[n] for n in counts}
        else:
            grouped[row_key] = counts
    result = _named_rows(by, grouped, none_name)
    totals = {name: sum(row.counts[name] for row in result) for name in (*COUNTS, *EXTRA_COUNTS)}
    return Desk(by=by, rows=result, totals=totals)
