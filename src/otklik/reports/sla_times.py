"""Reads of the SLA reports (F-25, F-06): compliance with the response deadline, the breaches, and the
first-response and resolution times in working hours of each ticket's SLA timetable.

Everything is grouped by the database over the summary tables (`reports.models`), joined to the tickets
the viewer may see (`period.ticket_scope`). Percentiles are `percentile_cont` (linear interpolation) on
PostgreSQL; SQLite has no such aggregate, so there the same definition is computed from two rows per group
picked by window functions (`ROW_NUMBER`, `COUNT` over the group) — still a constant number of statements.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.db import connection
from django.db.models import (
    Aggregate,
    Avg,
    Count,
    DateTimeField,
    F,
    FloatField,
    IntegerField,
    Q,
    QuerySet,
    Sum,
    Value,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber
from django.utils import timezone

from otklik.core.db_routing import read_connection
from otklik.dictionaries.models import DictionaryEntry
from otklik.reports.models import ResponseFact, SolveFact
from otklik.reports.period import PeriodFilters, as_day, bucket_starts, of_scope, ticket_scope, trunc
from otklik.sla.models import SlaLevel
from otklik.tickets.policies import TicketPolicy

# The regulation's public promise (F-06): "average answer about 4 working hours", drawn as a target line.
TARGET_HOURS = 4
# How the SLA reports can cut their rows.
DIMENSIONS = ("sla", "responsible", "category", "period")
BREACHES_PER_PAGE = 50


def _facts(model, policy: TicketPolicy, filters: PeriodFilters, at: str) -> QuerySet:
    """Return the model's facts whose instant `at` falls in the period, of tickets the viewer may see."""
    start, end = filters.bounds()
    rows = model.objects.filter(**{f"{at}__gte": start, f"{at}__lt": end})
    return of_scope(rows, ticket_scope(policy, filters))


def responses(policy: TicketPolicy, filters: PeriodFilters) -> QuerySet[ResponseFact]:
    """Return the support answers of the period (by the answer's time)."""
    return _facts(ResponseFact, policy, filters, "answered_at")


def solved(policy: TicketPolicy, filters: PeriodFilters) -> QuerySet[SolveFact]:
    """Return the closings of the period (the job removes a reopened ticket's row within a minute)."""
    return _facts(SolveFact, policy, filters, "closed_at")


# The column a dimension groups by: the fact's own SLA (the one whose timetable measured it, no join to the
# tickets for an admin), or the ticket's responsible or category.
_KEYS = {"sla": "sla_id", "responsible": "ticket__responsible_id", "category": "ticket__category_id"}


def _names(by: str, keys: set[Any], none_name: str) -> dict[Any, str]:
    """Return the rows' names in the active language, read from the small table the keys point to."""
    ids = {key for key in keys if key is not None}
    names: dict[Any, str] = {None: none_name}
    if by == "sla":
        for sla in SlaLevel.objects.filter(pk__in=ids).only("name_ru", "name_en"):
            names[sla.pk] = sla.name
    elif by == "responsible":
        for user in User.objects.filter(pk__in=ids).only("username", "first_name", "last_name"):
            names[user.pk] = f"{user.first_name} {user.last_name}".strip() or user.username
    elif by == "category":
        for entry in DictionaryEntry.objects.filter(pk__in=ids).only("name_ru", "name_en"):
            names[entry.pk] = entry.name
    return names


def _ordered(keys: set[Any], names: dict[Any, str]) -> list[Any]:
    """Return the keys by name, the "none" row last."""
    return sorted(keys, key=lambda key: (key is None, names.get(key, str(key)).casefold()))


@dataclass
class ComplianceRow:
    key: Any
    name: str
    answered: int = 0
    within: int = 0
    breached: int = 0
    late_working_seconds: int = 0

    @property
    def share(self) -> float | None:
        """Return within / answered (None when nothing was answered against a deadline)."""
        return self.within / self.answered if self.answered else None


@dataclass
class Compliance:
    by: str
    rows: list[ComplianceRow]
    totals: ComplianceRow
    # Per bucket of the period, for the chart: (first day, answered, within).
    series: list[tuple[dt.date, int, int]] = field(default_factory=list)


_COMPLIANCE = {
    "answered": Count("pk", filter=Q(within__isnull=False)),
    "within_count": Count("pk", filter=Q(within=True)),
    "breached": Count("pk", filter=Q(within=False)),
    "late": Coalesce(Sum("late_working_seconds", filter=Q(within=False)), 0),
}


def compliance(policy: TicketPolicy, filters: PeriodFilters, by: str, *, none_name: str = "—") -> Compliance:
    """Count the period's answers against a deadline: within it, breached, share, per value of `by`.

    An answer counts where the SLA had a response time when it was given; answers without a deadline are
    left out of compliance (they appear in the response times). One grouped statement, by (key, bucket):
    at most the period's buckets times the dimension's values, whatever the number of answers; the rows,
    the chart's buckets and the totals are its sums.
    """
    if by not in DIMENSIONS:
        raise ValueError(by)
    key = None if by == "period" else _KEYS[by]
    cells = (
        responses(policy, filters)
        .order_by()
        .annotate(bucket=trunc("answered_at", filters.grain))
        .values(*([key] if key else []), "bucket")
        .annotate(**_COMPLIANCE)
    )
    per_key: dict[Any, ComplianceRow] = {}
    per_bucket: dict[dt.date, ComplianceRow] = {}
    totals = ComplianceRow(key=None, name="")
    for values in cells:
        day = as_day(values["bucket"])
        for target in (
            per_key.setdefault(values[key] if key else day, ComplianceRow(key=None, name="")),
            per_bucket.setdefault(day, ComplianceRow(key=day, name="")),
            totals,
        ):
            target.answered += values["answered"]
            target.within += values["within_count"]
            target.breached += values["breached"]
            target.late_working_seconds += int(values["late"] or 0)
    series = [
        (
            day,
            per_bucket[day].answered if day in per_bucket else 0,
            per_bucket[day].within if day in per_bucket else 0,
        )
        for day in bucket_starts(filters)
    ]
    if by == "period":
        order: list[Any] = [day for day in bucket_starts(filters) if day in per_key]
        names: dict[Any, str] = {day: day.isoformat() for day in order}
    else:
        names = _names(by, set(per_key), none_name)
        order = _ordered(set(per_key), names)
    rows = []
    for k in order:
        row = per_key[k]
        row.key, row.name = k, names.get(k, str(k))
        rows.append(row)
    return Compliance(by=by, rows=rows, totals=totals, series=series)


def breaches(policy: TicketPolicy, filters: PeriodFilters) -> QuerySet[ResponseFact]:
    """Return the period's late answers, the latest first, with what the list shows of their ticket."""
    return (
        responses(policy, filters)
        .filter(within=False)
        .select_related("ticket", "sla", "ticket__responsible")
        .only(
            "answered_at",
            "deadline_at",
            "source_at",
            "late_working_seconds",
            "working_seconds",
            "first",
            "sla__name_ru",
            "sla__name_en",
            "ticket__title",
            "ticket__responsible__username",
            "ticket__responsible__first_name",
            "ticket__responsible__last_name",
        )
        .order_by("-answered_at", "-event_id")
    )


# --- response and resolution times -------------------------------------------------------------------


class PercentileCont(Aggregate):
    """PostgreSQL's percentile_cont(p) WITHIN GROUP (ORDER BY expression)."""

    function = "percentile_cont"
    template = "%(function)s(%(percentile)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, percentile: float, **extra):
        super().__init__(expression, percentile=percentile, **extra)


@dataclass
class TimeStats:
    """Times of one group, in seconds: how many, mean, median and 90th percentile, working and calendar."""

    count: int = 0
    mean: float | None = None
    median: float | None = None
    p90: float | None = None
    calendar_mean: float | None = None
    calendar_median: float | None = None


@dataclass
class TimesRow:
    key: Any
    name: str
    first_response: TimeStats
    resolution: TimeStats


@dataclass
class Times:
    by: str
    rows: list[TimesRow]
    totals: TimesRow
    # Per bucket: (first day, mean first response in working seconds or None, median or None).
    series: list[tuple[dt.date, float | None, float | None]] = field(default_factory=list)


def _interpolate(picked: list[tuple[int, int, float]], p: float) -> float | None:
    """Return percentile_cont(p) from the rows picked around its position: (row number, count, value)."""
    if not picked:
        return None
    n = picked[0][1]
    position = p * (n - 1)
    lo, hi = math.floor(position), math.ceil(position)
    values = {rank - 1: value for rank, _n, value in picked}
    low = values[lo]
    return low + (values[hi] - low) * (position - lo)


def _stats(qs: QuerySet, group: str | None, value: str, calendar: str) -> dict[Any, TimeStats]:
    """Return the statistics of `value` (and the calendar `calendar`) per value of `group` (None: one)."""
    keys = [group] if group else []
    base = qs.order_by()
    aggregates: dict[str, Any] = {
        "n": Count("pk"),
        "mean": Avg(value),
        "calendar_mean": Avg(calendar),
    }
    postgres = connection.vendor == "postgresql"
    if postgres:
        aggregates |= {
            "median": PercentileCont(value, 0.5),
            "p90": PercentileCont(value, 0.9),
            "calendar_median": PercentileCont(calendar, 0.5),
        }
    rows = base.values(*keys).annotate(**aggregates) if keys else [base.aggregate(**aggregates)]
    out: dict[Any, TimeStats] = {}
    for r in rows:
        if not r["n"]:
            continue
        out[r[group] if group else None] = TimeStats(
            count=r["n"],
            mean=r["mean"],
            calendar_mean=r["calendar_mean"],
            median=r.get("median"),
            p90=r.get("p90"),
            calendar_median=r.get("calendar_median"),
        )
    if not postgres:
        for column, p, name in (
            (value, 0.5, "median"),
            (value, 0.9, "p90"),
            (calendar, 0.5, "calendar_median"),
        ):
            for key, picked in _window_percentile(base, group, column, p).items():
                if key in out:
                    setattr(out[key], name, _interpolate(picked, p))
    return out


def _window_percentile(qs: QuerySet, group: str | None, column: str, p: float) -> dict[Any, list]:
    """Return, per group, the one or two rows around percentile p's position (SQLite's path)."""
    partition = [F(group)] if group else []
    ranked = qs.annotate(
        rank=Window(RowNumber(), partition_by=partition, order_by=F(column).asc()),
        n=Window(Count("pk"), partition_by=partition),
    )
    # Ranks floor(p*(n-1))+1 and ceil(p*(n-1))+1 are the only ones strictly between pos and pos + 2.
    position = (F("n") - 1) * p
    wanted = ranked.filter(rank__gt=position, rank__lt=position + 2)
    out: dict[Any, list] = {}
    for r in wanted.values(*([group] if group else []), "rank", "n", column):
        out.setdefault(r[group] if group else None, []).append((r["rank"], r["n"], float(r[column])))
    return out


@dataclass
class _Sets:
    """One dataset's statistics per key, per bucket and in total."""

    by_key: dict[Any, TimeStats]
    by_bucket: dict[dt.date, TimeStats]
    total: TimeStats


def _stats_sets(qs: QuerySet, *, key: str | None, bucket_on: str | None, grain: str) -> _Sets:
    """Return the working/calendar statistics of `qs` per `key`, per bucket of `bucket_on` and in total.

    On PostgreSQL one statement does all three (GROUPING SETS over the rows the ORM selects); elsewhere
    `_stats` runs once per grouping.
    """
    if connection.vendor != "postgresql":
        bucketed = qs.annotate(bucket=trunc(bucket_on, grain)) if bucket_on else qs
        return _Sets(
            by_key=_stats(qs, key, "working_seconds", "calendar_seconds") if key else {},
            by_bucket={
                as_day(k): v
                for k, v in _stats(bucketed, "bucket", "working_seconds", "calendar_seconds").items()
            }
            if bucket_on
            else {},
            total=_stats(qs, None, "working_seconds", "calendar_seconds").get(None, TimeStats()),
        )
    columns = {
        "k": F(key) if key else Value(None, IntegerField()),
        "b": trunc(bucket_on, grain) if bucket_on else Value(None, DateTimeField()),
        "w": F("working_seconds"),
        "c": F("calendar_seconds"),
    }
    inner, params = qs.order_by().annotate(**columns).values(*columns).query.sql_with_params()
    sets = [name for name, wanted in (("k", key), ("b", bucket_on)) if wanted]
    # GROUPING() and the grouped columns exist only for the sets asked for; the others read as "not grouped".
    flags = ", ".join(f"GROUPING({n})" if n in sets else "1" for n in ("k", "b"))
    values = ", ".join(n if n in sets else "NULL" for n in ("k", "b"))
    grouping = ", ".join([*(f"({n})" for n in sets), "()"])
    sql = (
        f"SELECT {flags}, {values}, COUNT(*), AVG(w), AVG(c), "
        "percentile_cont(0.5) WITHIN GROUP (ORDER BY w), percentile_cont(0.9) WITHIN GROUP (ORDER BY w), "
        "percentile_cont(0.5) WITHIN GROUP (ORDER BY c) "
        f"FROM ({inner}) AS t GROUP BY GROUPING SETS ({grouping})"
    )
    out = _Sets(by_key={}, by_bucket={}, total=TimeStats())
    with read_connection().cursor() as cursor:
        cursor.execute(sql, params)
        for gk, gb, k, b, n, mean, calendar_mean, median, p90, calendar_median in cursor.fetchall():
            if not n:
                continue  # the total of no rows
            stats = TimeStats(
                count=n,
                mean=float(mean),
                median=median,
                p90=p90,
                calendar_mean=float(calendar_mean),
                calendar_median=calendar_median,
            )
            if gk and gb:
                out.total = stats
            elif not gk:
                out.by_key[k] = stats
            else:
                out.by_bucket[as_day(timezone.localtime(b) if timezone.is_aware(b) else b)] = stats
    return out


def response_times(policy: TicketPolicy, filters: PeriodFilters, by: str, *, none_name: str = "—") -> Times:
    """Return first-response times (the ticket's first answer, given in the period) and resolution times
    (closings in the period) in working seconds of the SLA that measured them, with calendar seconds
    beside, per value of `by`, for the whole period, and the first response's mean and median per bucket.

    The SLA dimension is the facts' own (the ticket's SLA when the answer or the closing was measured).
    Two statements on PostgreSQL (answers, closings), whatever the data.
    """
    if by not in DIMENSIONS:
        raise ValueError(by)
    key = None if by == "period" else _KEYS[by]
    first = _stats_sets(
        responses(policy, filters).filter(first=True), key=key, bucket_on="answered_at", grain=filters.grain
    )
    closings = _stats_sets(
        solved(policy, filters),
        key=key,
        bucket_on="closed_at" if by == "period" else None,
        grain=filters.grain,
    )
    totals = TimesRow(key=None, name="", first_response=first.total, resolution=closings.total)
    series = [
        (
            day,
            first.by_bucket[day].mean if day in first.by_bucket else None,
            first.by_bucket[day].median if day in first.by_bucket else None,
        )
        for day in bucket_starts(filters)
    ]
    rows: list[TimesRow] = []
    if by == "period":
        for day in bucket_starts(filters):
            if day in first.by_bucket or day in closings.by_bucket:
                rows.append(
                    TimesRow(
                        day,
                        day.isoformat(),
                        first.by_bucket.get(day, TimeStats()),
                        closings.by_bucket.get(day, TimeStats()),
                    )
                )
    else:
        keys = set(first.by_key) | set(closings.by_key)
        names = _names(by, keys, none_name)
        for k in _ordered(keys, names):
            rows.append(
                TimesRow(
                    k,
                    names.get(k, str(k)),
                    first.by_key.get(k, TimeStats()),
                    closings.by_key.get(k, TimeStats()),
                )
            )
    return Times(by=by, rows=rows, totals=totals, series=series)
