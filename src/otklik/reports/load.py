"""Reads of the load report (F-25 graphs, issue 16): per day, week or month of a period, the tickets created,
open at the end of the bucket, closed, reopened, the conversation's messages and the deadlines missed; and of
the tickets closed in the period, how long and how many messages solving took, and the marks they got.

Every figure is a handful of grouped statements over `ticket_scope` (what the viewer may see, narrowed to
the SLA and staff group), whatever the number of tickets:

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
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import (
    Case,
    CharField,
    Count,
    F,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from otklik.dictionaries.models import DictionaryEntry, DictionaryKind
from otklik.reports.period import PeriodFilters, as_day, bucket_starts, ticket_scope, trunc
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


def _per_bucket(qs: QuerySet, column: str, grain: str, tz: dt.tzinfo, **counts: Any) -> dict[dt.date, dict]:
    """Group `qs` by the bucket `column` falls in; return {bucket's first day: {count name: value}}."""
    rows = qs.annotate(bucket=trunc(column, grain, tz)).values("bucket").annotate(**counts).order_by()
    return {as_day(row["bucket"]): row for row in rows}


def _both(message: str) -> list[str]:
    """Return a yes/no as the history's text column may hold it: in the site's language of the moment it
    was written, Russian or English."""
    return sorted(set(in_both_languages(message).values()) | {message})


def closing_events(scope: QuerySet[Ticket]) -> tuple[QuerySet[TicketEvent], Q, Q]:
    """Return the history's "closed" events of the tickets in `scope`, and the conditions that tell a
    closing (no → yes) from a reopening (yes → no)."""
    events = TicketEvent.objects.filter(field="closed", ticket__in=scope.values("pk"))
    return events, Q(new__in=_both(YES)), Q(new__in=_both(NO))


def load(policy: TicketPolicy, filters: PeriodFilters, *, tz: dt.tzinfo | None = None) -> Load:
    """Count the load per bucket of the period (see the module's docstring for each figure's definition).

    Six statements whatever the data: the tickets now (open, created after the period), tickets created per
    bucket, closings and reopenings per bucket and after the period, messages per bucket, overdue steps
    per bucket. The open count of each bucket's end is then a running sum, backwards from today.
    """
    tz = _zone(tz)
    grain = filters.grain
    start, end = filters.bounds(tz)
    scope = ticket_scope(policy, filters)

    now = scope.order_by().aggregate(
        open=Count("pk", filter=Q(closed_at__isnull=True)),
        created_after=Count("pk", filter=Q(created_at__gte=end)),
    )
    created = _per_bucket(
        scope.filter(created_at__gte=start, created_at__lt=end), "created_at", grain, tz, n=Count("pk")
    )
    events, closing, reopening = closing_events(scope)
    moves = _per_bucket(
        events.filter(at__gte=start, at__lt=end),
        "at",
        grain,
        tz,
        closed=Count("pk", filter=closing),
        reopened=Count("pk", filter=reopening),
    )
    after = events.filter(at__gte=end).aggregate(
        closed=Count("pk", filter=closing), reopened=Count("pk", filter=reopening)
    )
    messages = _per_bucket(
        Message.objects.filter(
            kind__in=CLIENT_VISIBLE_KINDS,
            created_at__gte=start,
            created_at__lt=end,
            ticket__in=scope.values("pk"),
        ),
        "created_at",
        grain,
        tz,
        n=Count("pk"),
    )
    overdue = _per_bucket(
        SlaEvent.objects.filter(
            kind=SlaEventKind.OVERDUE, at__gte=start, at__lt=end, ticket__in=scope.values("pk")
        ),
        "at",
        grain,
        tz,
        n=Count("pk"),
    )

    def got(table: Mapping[dt.date, dict], day: dt.date, name: str = "n") -> int:
        row = table.get(day)
        return int(row[name]) if row else 0

    # Walking the buckets from the last: "since the end of this bucket" = after the period + the later
    # buckets. open at T = open now − created since T + closed since T − reopened since T.
    open_at = now["open"] - now["created_after"] + after["closed"] - after["reopened"]
    out: list[LoadBucket] = []
    for day in reversed(bucket_starts(filters)):
        bucket = LoadBucket(
            start=day,
            created=got(created, day),
            open_at_end=open_at,
            closed=got(moves, day, "closed"),
            reopened=got(moves, day, "reopened"),
            messages=got(messages, day),
            overdue=got(overdue, day),
        )
        out.append(bucket)
        open_at = open_at - bucket.created + bucket.closed - bucket.reopened
    out.reverse()
    return Load(grain=grain, buckets=out)


def _solved(policy: TicketPolicy, filters: PeriodFilters, tz: dt.tzinfo) -> QuerySet[Ticket]:
    """Return the tickets in scope whose (last) closing falls in the period."""
    start, end = filters.bounds(tz)
    return ticket_scope(policy, filters).filter(closed_at__gte=start, closed_at__lt=end)


def _distribution(
    solved: QuerySet[Ticket],
    filters: PeriodFilters,
    tz: dt.tzinfo,
    classes: list[tuple[str | None, str]],
    *,
    key: Any = None,
    values: tuple[str, ...] = (),
    classify: Callable[[dict], tuple[str | None, str]] | None = None,
) -> Distribution:
    """Count `solved` per bucket of its closing and class in one grouped statement.

    The class is the expression `key` (a known class's key), or what `classify` makes of the grouped
    `values` (key, name); `classes` are the known classes (key, name) in display order, and a class the
    statement finds beyond them (a mark taken out of use) is added after them.
    """
    qs = solved.annotate(bucket=trunc("closed_at", filters.grain, tz))
    if key is not None:
        qs = qs.annotate(cls=key)
        values = ("cls", *values)
    rows = qs.values("bucket", *values).annotate(n=Count("pk")).order_by()
    names = dict(classes)
    order = [k for k, _name in classes]
    found: dict[tuple[dt.date, str | None], int] = {}
    for row in rows:
        cls, name = classify(row) if classify else (row["cls"], "")
        if cls not in names:
            names[cls] = name
            # Before "no mark", which stays last.
            order.insert(order.index(None) if None in order else len(order), cls)
        pair = (as_day(row["bucket"]), cls)
        found[pair] = found.get(pair, 0) + int(row["n"])
    buckets = [(day, [found.get((day, k), 0) for k in order]) for day in bucket_starts(filters)]
    totals = [sum(counts[i] for _day, counts in buckets) for i in range(len(order))]
    return Distribution(
        grain=filters.grain,
        rows=[DistributionRow(k, names[k], n) for k, n in zip(order, totals, strict=True)],
        buckets=buckets,
    )


def solve_time_classes() -> list[tuple[str | None, str]]:
    """Return the classes of the time to solve with their names in the active language."""
    names = [_("Less than 1 day")]
    names += [_("%(a)s–%(b)s days") % {"a": d, "b": d + 1} for d in range(1, SOLVE_DAYS)]
    names.append(_("7 days or more"))
    return list(zip(SOLVE_TIME_KEYS, names, strict=True))


def solve_time(policy: TicketPolicy, filters: PeriodFilters, *, tz: dt.tzinfo | None = None) -> Distribution:
    """Count the tickets closed in the period by the calendar time from creation to closing: less than a
    day (24 hours), 1 to 2 days, …, 6 to 7, 7 days or more; each class is [k, k+1) whole days."""
    tz = _zone(tz)
    # closed_at − created_at < k days, written as closed_at < created_at + k days: one comparison of
    # instants that SQLite and PostgreSQL both evaluate (a duration is microseconds on one, an interval on
    # the other).
    whens = [
        When(closed_at__lt=F("created_at") + dt.timedelta(days=d + 1), then=Value(k))
        for d, k in enumerate(SOLVE_TIME_KEYS[:-1])
    ]
    key = Case(*whens, default=Value(SOLVE_TIME_KEYS[-1]), output_field=CharField())
    return _distribution(_solved(policy, filters, tz), filters, tz, solve_time_classes(), key=key)


def solve_messages_classes() -> list[tuple[str | None, str]]:
    """Return the classes of the messages needed to solve with their names in the active language."""
    names = [_("2 or fewer"), *(str(n) for n in range(3, 10)), _("10 or more")]
    return list(zip(SOLVE_MESSAGES_KEYS, names, strict=True))


def solve_messages(
    policy: TicketPolicy, filters: PeriodFilters, *, tz: dt.tzinfo | None = None
) -> Distribution:
    """Count the tickets closed in the period by their conversation's messages (`message_count`: public and
    "no status" messages, the first one included): 2 or fewer, 3, 4, …, 9, 10 or more."""
    tz = _zone(tz)
    whens = [When(message_count__lte=2, then=Value("le2"))]
    whens += [When(message_count=n, then=Value(str(n))) for n in range(3, 10)]
    key = Case(*whens, default=Value("ge10"), output_field=CharField())
    return _distribution(_solved(policy, filters, tz), filters, tz, solve_messages_classes(), key=key)


def _mark_key(entry_id: int | None, code: str | None) -> str | None:
    """Key a mark as the desk does: its symbolic code, or its id when it has none."""
    if entry_id is None:
        return NO_MARK
    return code or str(entry_id)


def marks(policy: TicketPolicy, filters: PeriodFilters, *, tz: dt.tzinfo | None = None) -> Distribution:
    """Count the tickets closed in the period by their mark: every active mark of the dictionary (in its
    order, names in the active language), any inactive mark a ticket still has, then "no mark"."""
    tz = _zone(tz)
    entries = DictionaryEntry.objects.filter(kind=DictionaryKind.MARK, active=True).order_by("sort", "pk")
    classes: list[tuple[str | None, str]] = [
        (_mark_key(e.pk, e.code), in_active_language(e.name_ru, e.name_en)) for e in entries
    ]
    classes.append((NO_MARK, pgettext("report", "No mark")))

    def classify(row: dict) -> tuple[str | None, str]:
        name = in_active_language(row["mark__name_ru"] or "", row["mark__name_en"] or "")
        return _mark_key(row["mark_id"], row["mark__code"]), name

    return _distribution(
        _solved(policy, filters, tz),
        filters,
        tz,
        classes,
        values=("mark_id", "mark__code", "mark__name_ru", "mark__name_en"),
        classify=classify,
    )
