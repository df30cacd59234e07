"""Reads of the reports: the support desk tables (F-25), computed by the database in one grouped statement."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import get_language

from otklik.reports.period import responsible_in_group
from otklik.tickets.models import Ticket
from otklik.tickets.policies import TicketPolicy
from otklik.workflow.selectors import process_labels

# The desk's dimensions, in the order the page offers them. Each maps to the values() it groups by:
# (key column, extra columns for the row's name, the ordering of the rows).
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


def _columns(by: str) -> tuple[list[str], list[str]]:
    """Return the columns to group by (the key first) and the row order for a dimension."""
    if by == "responsible":
        cols = [
            "responsible_id",
            "responsible__username",
            "responsible__first_name",
            "responsible__last_name",
        ]
        return cols, ["responsible__username", "responsible_id"]
    if by in _ENTRY_KINDS:
        cols = [f"{by}_id", f"{by}__code", f"{by}__name_ru", f"{by}__name_en"]
        return cols, [f"{by}__sort", f"{by}_id"]
    if by == "sla":
        return ["sla_id", "sla__code", "sla__name_ru", "sla__name_en"], ["sla__name_ru", "sla_id"]
    if by == "process_state":
        return ["process__state"], ["process__state"]
    if by == "l1_outcome":
        return ["process__l1_outcome"], ["process__l1_outcome"]
    raise ValueError(by)


def _in_language(ru: str | None, en: str | None) -> str:
    if (get_language() or "ru").startswith("en"):
        return en or ru or ""
    return ru or en or ""


def _row(by: str, values: dict[str, Any], none_name: str, labels: dict[str, str]) -> DeskRow:
    counts = {name: int(values[name] or 0) for name in (*COUNTS, *EXTRA_COUNTS)}
    if by == "responsible":
        uid = values["responsible_id"]
        if uid is None:
            return DeskRow(None, none_name, counts, "none")
        full = f"{values['responsible__first_name']} {values['responsible__last_name']}".strip()
        return DeskRow(uid, full or values["responsible__username"], counts, str(uid))
    if by in _ENTRY_KINDS or by == "sla":
        pk = values[f"{by}_id"]
        if pk is None:
            return DeskRow(None, none_name, counts, "none")  # the list's "not set" filter
        name = _in_language(values[f"{by}__name_ru"], values[f"{by}__name_en"])
        key: str | int = pk if by == "sla" else (values[f"{by}__code"] or str(pk))
        return DeskRow(key, name, counts, str(pk))
    value = values[f"process__{by}" if by == "l1_outcome" else "process__state"] or None
    name = labels.get(value, value) if value else none_name
    return DeskRow(value, name, counts, value or "none")  # the process's list filters


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
    cols, order = _columns(by)
    rows = (
        desk_scope(policy, filters, tz)
        .order_by()
        .values(*cols)
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
        .order_by(*order)
    )
    labels = process_labels(by) if by in ("process_state", "l1_outcome") else {}
    result = [_row(by, values, none_name, labels) for values in rows]
    # The "none" row last, as Bitrix shows it.
    result.sort(key=lambda row: row.key is None)
    totals = {name: sum(row.counts[name] for row in result) for name in (*COUNTS, *EXTRA_COUNTS)}
    return Desk(by=by, rows=result, totals=totals)
