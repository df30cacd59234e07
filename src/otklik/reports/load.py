"""Reads of the load report (F-25 graphs, issue 16): per day, week or month of a period, the tickets created,
open at the end of the bucket, closed, reopened, the conversation's messages and the deadlines missed; and of
the tickets closed in the period, how long and how many messages solving took, and the marks they got.

Every figure is counted by the database over `ticket_scope` (what the viewer may see, narrowed to the SLA
and staff group) in two grouped statements whatever the number of tickets, one for the load (`load`) and
one for the three distributions (`solved_distributions`):

- created: tickets whose `created_at` falls in the bucket;
- closed / reopened: the history's "closed" events in the bucket (`TicketEvent`, written by a person's
  close or reopen and by the SLA job's auto-close). Each closing counts: a ticket closed, reopened and
  closed again in one bucket counts twice there, so that `open_at_end` of a bucket is exactly the previous
  one's plus created, minus closed, plus reopened;
- open_at_end: the tickets open at the end of the bucket's last day (midnight in the viewer's time zone;
  the period's end for a bucket that runs past it). Replaying the whole history would read every event
  ever written, so it is computed backwards from today: open at T = open now − created since T + closed
  since T − reopened since T, with the "since" counts summed from the per-bucket counts plus one count of
  everything after the period;
- messages: the client-visible conversation (public and "no status" messages, the ones `message_count`
  counts) written in the bucket, the first message of each ticket included;
- overdue: the SLA timeline's "overdue" steps in the bucket (a ticket whose clock restarted and ran out
  again counts again).

A ticket counts where the viewer may see it now and where its current SLA and responsible put it: the
report answers "what happened to the tickets in my sight", not "what was in my sight then".

The distributions (`solve_time`, `solve_messages`, `marks`) count tickets closed in the period: their
current `closed_at` falls in it (a ticket reopened and still open is not solved; one closed twice counts
once, at its last closing), grouped per bucket of that closing and in total.

The backwards count trusts that every change of `closed_at` wrote its "closed" event (as `_set_closed` and
the SLA job's auto-close do): a ticket closed by a raw UPDATE would look closed since its creation.

Every row is read by an index that holds what the statement needs of it, so PostgreSQL answers from the
indexes alone: the messages, closings and overdue steps by instant (partial: tickets 0019, sla 0008), the
tickets by closing and by creation with the columns of the distributions and of a viewer's scope (tickets
0020), and the tickets in a staff member's sight from the narrow index by responsible (tickets 0022). On a
million tickets the default page (30 days by day) reads about a million index entries; a staff member's
also hashes the tickets in sight once.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import (
    Case,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Field,
    Func,
    IntegerField,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Greatest, Least
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from otklik.core.db_routing import read_connection
from otklik.dictionaries.models import DictionaryEntry, DictionaryKind
from otklik.reports.period import Buckets, PeriodFilters, ticket_scope
from otklik.sla.models import SlaEvent, SlaEventKind, in_active_language
from otklik.tickets.loglines import NO, YES, in_both_languages
from otklik.tickets.models import CLIENT_VISIBLE_KINDS, Message, Ticket, TicketEvent
from otklik.tickets.policies import TicketPolicy

# The load table's columns, as the API and the exports name them.
LOAD_COUNTS = ("created", "open_at_end", "closed", "reopened", "messages", "overdue")
# Time to solve: whole days from creation to closing, [k, k+1) days; the last class is 7 days or more.
SOLVE_DAYS = 7
SOLVE_TIME_KEYS = ("lt1", *(f"{d}-{d + 1}" for d in range(1, SOLVE_DAYS)), "gt7")
# Messages needed to solve: 2 or fewer, 3 … 9, 10 or more.
SOLVE_MESSAGES_KEYS = ("le2", *(str(n) for n in range(3, 10)), "ge10")
NO_MARK = None


@dataclass(frozen=True)
class LoadBucket:
    """One day, week or month of the load report (`start`: its first day)."""

    start: dt.date
    created: int = 0
    open_at_end: int = 0
    closed: int = 0
    reopened: int = 0
    messages: int = 0
    overdue: int = 0

    def counts(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in LOAD_COUNTS}


@dataclass(frozen=True)
class Load:
    grain: str
    buckets: list[LoadBucket]


@dataclass(frozen=True)
class DistributionRow:
    """One class of a distribution: its key (a code; None for "no mark"), its name, its tickets."""

    key: str | None
    name: str
    count: int


@dataclass(frozen=True)
class Distribution:
    """Tickets closed in the period per class (`rows`, in display order) and per bucket of their closing:
    `buckets` pairs each bucket's first day with its counts in the order of `rows`."""

    grain: str
    rows: list[DistributionRow]
    buckets: list[tuple[dt.date, list[int]]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(row.count for row in self.rows)


def _zone(tz: dt.tzinfo | None) -> dt.tzinfo:
    return tz or timezone.get_current_timezone()


def _both(message: str) -> list[str]:
    """Return a yes/no as the history's text column may hold it: in the site's language of the moment it
    was written, Russian or English."""
    return sorted(set(in_both_languages(message).values()) | {message})


# What a row of the load's one statement counts (its `kind`).
_CREATED, _CREATED_AFTER, _OPEN_NOW = 0, 1, 2
_CLOSED, _REOPENED, _CLOSED_AFTER, _REOPENED_AFTER, _OTHER_MOVE = 3, 4, 5, 6, 7
_MESSAGES, _OVERDUE = 8, 9


def _moves(closed: int, reopened: int) -> Case:
    """Return the kind of a "closed" history event: a closing (no → yes), a reopening (yes → no)."""
    return Case(
        When(new__in=_both(YES), then=Value(closed)),
        When(new__in=_both(NO), then=Value(reopened)),
        default=Value(_OTHER_MOVE),
        output_field=IntegerField(),
    )


def _activity(
    scope: QuerySet[Ticket], buckets: Buckets, start: dt.datetime, end: dt.datetime
) -> Counter[tuple[int, dt.date | None]]:
    """Count the rows behind the load, per (kind, bucket's first day or None), in one statement.

    The rows of each kind (tickets created, open now, closings and reopenings, messages, overdue steps) are
    read by their own covering indexes and put one after the other (UNION ALL); the viewer's scope narrows
    them all at once: `ticket IN (the tickets in scope)` is one pass over the tickets (one hash) for every
    kind, where a statement per kind made one each. An unconditional scope (an admin, no filter) adds
    nothing. The statements inside are the ORM's, the union and the grouping around them plain SQL that
    SQLite and PostgreSQL read alike.
    """
    tickets = Ticket.objects.all()
    events = TicketEvent.objects.filter(field="closed")
    kinds: list[tuple[QuerySet, str, Any, Any]] = [
        (tickets.filter(created_at__gte=start, created_at__lt=end), "pk", _CREATED, buckets.of("created_at")),
        (tickets.filter(created_at__gte=end), "pk", _CREATED_AFTER, None),
        (tickets.filter(closed_at__isnull=True), "pk", _OPEN_NOW, None),
        (events.filter(at__gte=start, at__lt=end), "ticket_id", _moves(_CLOSED, _REOPENED), buckets.of("at")),
        (events.filter(at__gte=end), "ticket_id", _moves(_CLOSED_AFTER, _REOPENED_AFTER), None),
        (
            Message.objects.filter(kind__in=CLIENT_VISIBLE_KINDS, created_at__gte=start, created_at__lt=end),
            "ticket_id",
            _MESSAGES,
            buckets.of("created_at"),
        ),
        (
            SlaEvent.objects.filter(kind=SlaEventKind.OVERDUE, at__gte=start, at__lt=end),
            "ticket_id",
            _OVERDUE,
            buckets.of("at"),
        ),
    ]
    narrowed = bool(scope.query.where)
    parts: list[str] = []
    params: list[Any] = []
    for rows, ticket, kind, bucket in kinds:
        columns: dict[str, Any] = {"r_ticket": F(ticket)} if narrowed else {}
        columns["r_kind"] = kind if isinstance(kind, Case) else Value(kind, output_field=IntegerField())
        columns["r_bucket"] = Value(None, output_field=IntegerField()) if bucket is None else bucket
        sql, part_params = rows.order_by().annotate(**columns).values(*columns).query.sql_with_params()
        parts.append(sql)
        params.extend(part_params)
    q = connection.ops.quote_name
    kind_column, bucket_column = f"x.{q('r_kind')}", f"x.{q('r_bucket')}"
    sql = f"SELECT {kind_column}, {bucket_column}, COUNT(*) FROM ({' UNION ALL '.join(parts)}) x"
    if narrowed:
        scope_sql, scope_params = scope.order_by().values("pk").query.sql_with_params()
        sql += f" WHERE x.{q('r_ticket')} IN ({scope_sql})"
        params.extend(scope_params)
    sql += f" GROUP BY {kind_column}, {bucket_column}"
    with read_connection().cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    return Counter({(kind, None if b is None else buckets.day(b)): int(n) for kind, b, n in found})


def load(policy: TicketPolicy, filters: PeriodFilters, *, tz: dt.tzinfo | None = None) -> Load:
    """Count the load per bucket of the period (see the module's docstring for each figure's definition).

    One statement whatever the data (`_activity`): tickets created per bucket and after the period, open
    now, closings and reopenings per bucket and after the period, messages and overdue steps per bucket.
    The open count of each bucket's end is then a running sum, backwards from today.
    """
    tz = _zone(tz)
    buckets = Buckets(filters, tz)
    start, end = filters.bounds(tz)
    counts = _activity(ticket_scope(policy, filters), buckets, start, end)
    # Walking the buckets from the last: "since the end of this bucket" = after the period + the later
    # buckets. open at T = open now − created since T + closed since T − reopened since T.
    open_at = (
        counts[_OPEN_NOW, None]
        - counts[_CREATED_AFTER, None]
        + counts[_CLOSED_AFTER, None]
        - counts[_REOPENED_AFTER, None]
    )
    out: list[LoadBucket] = []
    for day in reversed(buckets.starts):
        bucket = LoadBucket(
            start=day,
            created=counts[_CREATED, day],
            open_at_end=open_at,
            closed=counts[_CLOSED, day],
            reopened=counts[_REOPENED, day],
            messages=counts[_MESSAGES, day],
            overdue=counts[_OVERDUE, day],
        )
        out.append(bucket)
        open_at = open_at - bucket.created + bucket.closed - bucket.reopened
    out.reverse()
    return Load(grain=filters.grain, buckets=out)


def _solved(policy: TicketPolicy, filters: PeriodFilters, tz: dt.tzinfo) -> QuerySet[Ticket]:
    """Return the tickets in scope whose (last) closing falls in the period."""
    start, end = filters.bounds(tz)
    return ticket_scope(policy, filters).filter(closed_at__gte=start, closed_at__lt=end)


@dataclass(frozen=True)
class _Classing:
    """How one distribution classes a solved ticket: the expressions to annotate, the columns to group
    by, the known classes (key, name) in display order, and how a grouped row becomes (key, name)."""

    annotations: dict[str, Any]
    columns: tuple[str, ...]
    classes: list[tuple[str | None, str]]
    classify: Callable[[dict], tuple[str | None, str]]


def _fold(rows: list[dict], buckets: Buckets, classing: _Classing) -> Distribution:
    """Sum the grouped rows per bucket and class of one distribution; a class the rows hold beyond the
    known ones (a mark taken out of use) comes after them, before "no mark"."""
    names = dict(classing.classes)
    order = [k for k, _name in classing.classes]
    found: dict[tuple[dt.date, str | None], int] = {}
    for row in rows:
        cls, name = classing.classify(row)
        if cls not in names:
            names[cls] = name
            order.insert(order.index(NO_MARK) if NO_MARK in order else len(order), cls)
        pair = (buckets.day(row["bucket"]), cls)
        found[pair] = found.get(pair, 0) + int(row["n"])
    per_bucket = [(day, [found.get((day, k), 0) for k in order]) for day in buckets.starts]
    totals = [sum(counts[i] for _day, counts in per_bucket) for i in range(len(order))]
    return Distribution(
        grain=buckets.grain,
        rows=[DistributionRow(k, names[k], n) for k, n in zip(order, totals, strict=True)],
        buckets=per_bucket,
    )


def solve_time_classes() -> list[tuple[str | None, str]]:
    """Return the classes of the time to solve with their names in the active language."""
    names = [_("Less than 1 day")]
    names += [_("%(a)s–%(b)s days") % {"a": d, "b": d + 1} for d in range(1, SOLVE_DAYS)]
    names.append(_("7 days or more"))
    return list(zip(SOLVE_TIME_KEYS, names, strict=True))


def _by_index(column: str, classes: list[tuple[str | None, str]], expression: Any) -> _Classing:
    """Class by an expression that gives the index of the class in `classes`: a small integer to group
    by, cheaper for the database than the key's text."""
    expression = ExpressionWrapper(expression, output_field=IntegerField())
    return _Classing({column: expression}, (column,), classes, lambda row: classes[row[column]])


def _solve_time() -> _Classing:
    """Class by calendar time from creation to closing: [k, k+1) whole days (24 hours each), 7 or more."""
    classes = solve_time_classes()
    limits = [dt.timedelta(days=d + 1) for d in range(SOLVE_DAYS)]
    if connection.vendor == "postgresql":
        # The number of limits the interval reaches, in one search per ticket (a CASE of seven
        # comparisons cost a third of the statement over a year of tickets).
        took = ExpressionWrapper(F("closed_at") - F("created_at"), output_field=DurationField())
        return _by_index(
            "solve_time", classes, Func(took, Value(limits, output_field=Field()), function="width_bucket")
        )
    # closed_at − created_at < k days, written as closed_at < created_at + k days: a comparison of
    # instants (SQLite holds a duration as microseconds).
    whens = [When(closed_at__lt=F("created_at") + limit, then=Value(d)) for d, limit in enumerate(limits)]
    return _by_index("solve_time", classes, Case(*whens, default=Value(SOLVE_DAYS)))


def solve_messages_classes() -> list[tuple[str | None, str]]:
    """Return the classes of the messages needed to solve with their names in the active language."""
    names = [_("2 or fewer"), *(str(n) for n in range(3, 10)), _("10 or more")]
    return list(zip(SOLVE_MESSAGES_KEYS, names, strict=True))


def _solve_messages() -> _Classing:
    """Class by the conversation's messages (`message_count`: public and "no status", the first one
    included): 2 or fewer, 3 … 9, 10 or more; the class's index is the count − 2 within 0 … 8."""
    classes = solve_messages_classes()
    index = Least(Greatest(F("message_count") - 2, Value(0)), Value(len(classes) - 1))
    return _by_index("solve_messages", classes, index)


def _mark_key(entry_id: int | None, code: str | None) -> str | None:
    """Key a mark as the desk does: its symbolic code, or its id when it has none."""
    if entry_id is None:
        return NO_MARK
    return code or str(entry_id)


def _marks() -> _Classing:
    """Class by the mark: every active mark of the dictionary (in its order, names in the active
    language), an inactive mark only when a ticket has it, then "no mark"."""
    entries = list(DictionaryEntry.objects.filter(kind=DictionaryKind.MARK).order_by("sort", "pk"))
    classes: list[tuple[str | None, str]] = [
        (_mark_key(e.pk, e.code), in_active_language(e.name_ru, e.name_en)) for e in entries if e.active
    ]
    classes.append((NO_MARK, pgettext("report", "No mark")))
    known = {e.pk: (_mark_key(e.pk, e.code), in_active_language(e.name_ru, e.name_en)) for e in entries}

    def classify(row: dict) -> tuple[str | None, str]:
        mark_id = row["mark_id"]
        if mark_id is None:
            return NO_MARK, ""
        return known.get(mark_id, (str(mark_id), str(mark_id)))

    return _Classing({}, ("mark_id",), classes, classify)


_CLASSINGS: dict[str, Callable[[], _Classing]] = {
    "solve_time": _solve_time,
    "solve_messages": _solve_messages,
    "marks": _marks,
}
DISTRIBUTIONS = tuple(_CLASSINGS)


def solved_distributions(
    policy: TicketPolicy,
    filters: PeriodFilters,
    names: tuple[str, ...] = DISTRIBUTIONS,
    *,
    tz: dt.tzinfo | None = None,
) -> dict[str, Distribution]:
    """Count the tickets closed in the period per bucket of their closing, for each distribution of
    `names`, in one grouped statement: the tickets are read once and grouped by every class at once (a
    bucket has at most 8 × 9 × marks groups, far fewer in practice), then summed per distribution."""
    tz = _zone(tz)
    buckets = Buckets(filters, tz)
    classings = {name: _CLASSINGS[name]() for name in names}
    qs = _solved(policy, filters, tz).annotate(bucket=buckets.of("closed_at"))
    columns: list[str] = []
    for classing in classings.values():
        qs = qs.annotate(**classing.annotations)
        columns.extend(classing.columns)
    rows = list(qs.values("bucket", *columns).annotate(n=Count("*")).order_by())
    return {name: _fold(rows, buckets, classing) for name, classing in classings.items()}


def solve_time(policy: TicketPolicy, filters: PeriodFilters, *, tz: dt.tzinfo | None = None) -> Distribution:
    """Count the tickets closed in the period by the calendar time from creation to closing: less than a
    day (24 hours), 1 to 2 days, …, 6 to 7, 7 days or more; each class is [k, k+1) whole days."""
    return solved_distributions(policy, filters, ("solve_time",), tz=tz)["solve_time"]


def solve_messages(
    policy: TicketPolicy, filters: PeriodFilters, *, tz: dt.tzinfo | None = None
) -> Distribution:
    """Count the tickets closed in the period by their conversation's messages (`message_count`: public and
    "no status" messages, the first one included): 2 or fewer, 3, 4, …, 9, 10 or more."""
    return solved_distributions(policy, filters, ("solve_messages",), tz=tz)["solve_messages"]


def marks(policy: TicketPolicy, filters: PeriodFilters, *, tz: dt.tzinfo | None = None) -> Distribution:
    """Count the tickets closed in the period by their mark: every active mark of the dictionary (in its
    order, names in the active language), any inactive mark a ticket still has, then "no mark"."""
    return solved_distributions(policy, filters, ("marks",), tz=tz)["marks"]
