"""What every report over a period shares: its filters, its day/week/month buckets in the viewer's time zone,
and the tickets it may count (F-25).

A report's URL holds these filters (`date_from`, `date_to`, `grain`, `sla`, `group`) so it can be bookmarked
and shared; the API takes the same names. Buckets are computed by the database (`Buckets`: a search among the
buckets' first instants on PostgreSQL, `Trunc…` in the viewer's time zone elsewhere) and the report fills
the empty ones with zeros from `bucket_starts`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import F, Field, Func, IntegerField, QuerySet, Value
from django.db.models.functions import TruncDay, TruncMonth, TruncWeek
from django.utils import timezone
from django.utils.translation import gettext as _

from otklik.accounts.models import SupportGroup, SupportGroupMember
from otklik.tickets.models import Ticket
from otklik.tickets.policies import TicketPolicy

GRAINS = ("day", "week", "month")
DEFAULT_DAYS = 30
# The most buckets a chart draws: a period too long for its grain is refused with a field message.
MAX_BUCKETS = 400


@dataclass(frozen=True)
class PeriodFilters:
    """A period of whole days (inclusive, in the viewer's time zone) cut into buckets, an SLA, a staff group."""

    date_from: dt.date
    date_to: dt.date
    grain: str = "day"
    sla: int | None = None
    group: int | None = None

    @classmethod
    def default(cls, today: dt.date | None = None) -> PeriodFilters:
        """Return the last 30 days up to today, by day."""
        today = today or timezone.localdate()
        return cls(date_from=today - dt.timedelta(days=DEFAULT_DAYS - 1), date_to=today)

    def bounds(self, tz: dt.tzinfo | None = None) -> tuple[dt.datetime, dt.datetime]:
        """Return the aware instants the period starts at and ends before (midnights in the time zone)."""
        tz = tz or timezone.get_current_timezone()
        start = dt.datetime.combine(self.date_from, dt.time.min, tzinfo=tz)
        end = dt.datetime.combine(self.date_to + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
        return start, end

    def params(self) -> dict[str, str]:
        """Return the filters as the page's and the API's query parameters."""
        out = {
            "date_from": self.date_from.isoformat(),
            "date_to": self.date_to.isoformat(),
            "grain": self.grain,
        }
        if self.sla is not None:
            out["sla"] = str(self.sla)
        if self.group is not None:
            out["group"] = str(self.group)
        return out


# The days a period may span: a midnight far outside them does not fit a datetime in every time zone.
FIRST_DAY = dt.date(1900, 1, 1)
LAST_DAY = dt.date(9998, 12, 31)


def day_error(day: dt.date) -> str | None:
    """Return why a day cannot bound a period, in the active language, or None when it can."""
    if FIRST_DAY <= day <= LAST_DAY:
        return None
    return _("Choose a day between %(first)s and %(last)s.") % {
        "first": FIRST_DAY.isoformat(),
        "last": LAST_DAY.isoformat(),
    }


def period_error(date_from: dt.date, date_to: dt.date, grain: str) -> str | None:
    """Return why the period cannot be drawn, in the active language, or None when it can."""
    problem = day_error(date_from) or day_error(date_to)
    if problem:
        return problem
    if date_from > date_to:
        return _("The end of the period is before its start.")
    if len(bucket_starts(PeriodFilters(date_from, date_to, grain))) > MAX_BUCKETS:
        return _("The period is too long for this step: choose a longer step or a shorter period.")
    return None


def bucket_start(day: dt.date, grain: str) -> dt.date:
    """Return the first day of the bucket holding `day` (weeks start on Monday, as Trunc does)."""
    if grain == "week":
        return day - dt.timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    return day


def bucket_starts(filters: PeriodFilters) -> list[dt.date]:
    """Return the first day of every bucket the period touches, in order."""
    out: list[dt.date] = []
    day = bucket_start(filters.date_from, filters.grain)
    while day <= filters.date_to:
        out.append(day)
        if filters.grain == "month":
            day = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        else:
            day += dt.timedelta(days=7 if filters.grain == "week" else 1)
        if len(out) > MAX_BUCKETS + 1:
            break
    return out


def trunc(field: str, grain: str, tz: dt.tzinfo | None = None):
    """Return the database expression of the bucket a timestamp column falls in, in the time zone."""
    tz = tz or timezone.get_current_timezone()
    kind = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}[grain]
    return kind(field, tzinfo=tz)


def as_day(value: dt.datetime | dt.date) -> dt.date:
    """Return a Trunc result as a date (SQLite and PostgreSQL hand back aware datetimes in the zone)."""
    return value.date() if isinstance(value, dt.datetime) else value


def ticket_scope(policy: TicketPolicy, filters: PeriodFilters) -> QuerySet[Ticket]:
    """Return the tickets the user may see (TicketPolicy.visible), narrowed to the SLA and staff group."""
    qs = policy.visible(Ticket.objects.all())
    if filters.sla is not None:
        qs = qs.filter(sla_id=filters.sla)
    return responsible_in_group(qs, filters.group)


def responsible_in_group(qs: QuerySet[Ticket], group: int | None) -> QuerySet[Ticket]:
    """Narrow tickets to those whose responsible is a member of the staff group (None: no narrowing),
    as the staff list's "staff group" filter does."""
    if group is None:
        return qs
    members = SupportGroupMember.objects.filter(group_id=group, group__kind=SupportGroup.Kind.STAFF).values(
        "user_id"
    )
    return qs.filter(responsible_id__in=members)


def of_scope(rows: QuerySet, scope: QuerySet[Ticket]) -> QuerySet:
    """Narrow rows of a table that points to tickets (`ticket`) to the tickets in `scope`.

    A scope without conditions (an admin, no SLA or group) adds none: `ticket IN (all tickets)` would make
    the database read the whole ticket table to learn nothing.
    """
    if not scope.query.where:
        return rows
    return rows.filter(ticket__in=scope.values("pk"))


class Buckets:
    """Where an instant falls among the period's buckets, computed by the database.

    PostgreSQL is handed the instants the buckets start at (midnights in the viewer's time zone, computed
    here as `PeriodFilters.bounds` does) and finds each row's bucket with `width_bucket`, a binary search
    among them: about half the cost per row of converting every instant to the time zone and truncating
    it, which a year's messages make millions of times. Other databases truncate in the time zone
    (`trunc`). Either way `day` names the bucket by its first day.
    """

    def __init__(self, filters: PeriodFilters, tz: dt.tzinfo | None = None):
        tz = tz or timezone.get_current_timezone()
        self.starts = bucket_starts(filters)
        self.grain = filters.grain
        self.tz = tz
        self.searched = connection.vendor == "postgresql"
        # Bucket i holds the instants from the start of bucket i (the period's start for the first) to
        # the start of bucket i + 1: the search counts the later buckets' starts at or before an instant.
        self.edges = [dt.datetime.combine(day, dt.time.min, tzinfo=tz) for day in self.starts[1:]]

    def of(self, column: str) -> Any:
        """Return the expression of the bucket an instant column falls in (rows inside the period)."""
        if not self.searched:
            return trunc(column, self.grain, self.tz)
        if not self.edges:
            return Value(0, output_field=IntegerField())
        edges = Value(self.edges, output_field=Field())
        return Func(F(column), edges, function="width_bucket", output_field=IntegerField())

    def day(self, value: object) -> dt.date:
        """Return the first day of the bucket a value of `of` names (an index, a truncated instant, or
        its text when plain SQL read it on SQLite)."""
        if isinstance(value, int):
            return self.starts[value]
        if isinstance(value, dt.datetime | dt.date):
            return as_day(value)
        return dt.date.fromisoformat(str(value)[:10])
