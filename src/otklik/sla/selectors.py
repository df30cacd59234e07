"""Read SLA configuration: working calendars per SLA level (cached per process), and the SLA timeline."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import CharField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from otklik.core import clock
from otklik.core.config_cache import config_cached
from otklik.sla.calendars import (
    DAY,
    ExceptionSpec,
    NoWorkingTime,
    WeekSchedule,
    WorkingCalendar,
    bundled_production_calendar,
    resolve_exceptions,
)
from otklik.sla.models import (
    EVERYONE_GROUP,
    CalendarException,
    DeadlineRecompute,
    SlaEvent,
    SlaLevel,
    Timetable,
)

log = logging.getLogger(__name__)
_lock = threading.Lock()
_calendars: dict[tuple, WorkingCalendar] = {}
_CACHE_LIMIT = 256


def week_schedule(timetable: Timetable | None) -> WeekSchedule:
    """Return a timetable's weekly schedule; no timetable means around the clock."""
    if timetable is None:
        return WeekSchedule.around_the_clock()
    return WeekSchedule.build(
        {d: [tuple(i) for i in intervals] for d, intervals in enumerate(timetable.week)}
    )


def exception_spec(exception: CalendarException) -> ExceptionSpec:
    """Translate a stored exception into the calendar module's plain terms."""

    def seconds(t, default):
        return default if t is None else t.hour * 3600 + t.minute * 60 + t.second

    end = seconds(exception.end_time, DAY)
    return ExceptionSpec(
        kind=exception.kind,
        first_day=exception.first_day,
        last_day=exception.last_day,
        start=seconds(exception.start_time, 0),
        end=end or DAY,  # 00:00 as an end is the midnight closing the day
        weekday=exception.weekday,
    )


def _exceptions_q(timetable_id: int | None, sla_id: int | None) -> Q:
    q = Q(pk__in=[])
    if timetable_id is not None:
        q |= Q(timetable_id=timetable_id)
    if sla_id is not None:
        q |= Q(sla_levels__id=sla_id)
    return q


def _build(timetable: Timetable | None, sla_id: int | None) -> WorkingCalendar:
    rows = CalendarException.objects.filter(_exceptions_q(timetable.pk if timetable else None, sla_id))
    specs = [exception_spec(e) for e in rows.distinct()]
    zone = timetable.time_zone if timetable else settings.TIME_ZONE
    return WorkingCalendar(
        week_schedule(timetable), zone, resolve_exceptions(specs), around=clock.now().date()
    )


def working_calendar(sla: SlaLevel | None = None, *, timetable: Timetable | None = None) -> WorkingCalendar:
    """Return the working calendar of an SLA level (its timetable plus its exceptions) or of a timetable.

    Calendars are cached per process and keyed by the revisions that every change of a timetable, an
    exception or an SLA's choice of exceptions bumps, so an edit is seen at the next question.
    """
    if sla is not None:
        timetable = sla.timetable
    key = (
        sla.pk if sla is not None else None,
        sla.exceptions_revision if sla is not None else 0,
        timetable.pk if timetable else None,
        timetable.revision if timetable else 0,
    )
    with _lock:
        calendar = _calendars.get(key)
    if calendar is None:
        calendar = _build(timetable, sla.pk if sla is not None else None)
        with _lock:
            if len(_calendars) >= _CACHE_LIMIT:
                _calendars.clear()
            _calendars[key] = calendar
    return calendar


def calendars_forget() -> None:
    """Drop every cached calendar (tests that rewrite configuration behind the revisions' back)."""
    with _lock:
        _calendars.clear()


def deadline_for(sla: SlaLevel | None, source: datetime, *, extra_seconds: int = 0) -> tuple:
    """Return (deadline, reminder) for a clock started at `source`; (None, None) without a response time.

    `extra_seconds` is working time the clock was paused for; it moves both instants later.
    """
    if sla is None or sla.response_seconds <= 0:
        return None, None
    calendar = working_calendar(sla)
    response = sla.response_seconds + extra_seconds
    try:
        deadline = calendar.add(source, response)
        reminder = None
        if 0 < sla.reminder_seconds < sla.response_seconds:
            reminder = calendar.add(source, response - sla.reminder_seconds)
    except NoWorkingTime:
        # A timetable closed every day is a configuration mistake, not the client's: no deadline, and say so.
        log.warning("SLA %r: its timetable has no working time, so tickets get no deadline", sla.name)
        return None, None
    return deadline, reminder


def sla_timeline(ticket) -> list[SlaEvent]:
    """Return a ticket's SLA timeline, oldest first."""
    return list(SlaEvent.objects.filter(ticket=ticket).order_by("at", "id"))


def calendar_year_missing(today=None) -> int | None:
    """Return next year when it is 1 November or later and the bundled calendar lacks it, else None."""
    # The site's local date: in Moscow the warning starts at midnight of 1 November, not at 03:00.
    today = today or timezone.localdate(clock.now())
    if today.month < 11:
        return None
    next_year = today.year + 1
    return None if str(next_year) in bundled_production_calendar() else next_year


def deadlines_recompute_running() -> list[DeadlineRecompute]:
    """Return the recomputations not finished yet, oldest first (the admin pages' progress line)."""
    return list(DeadlineRecompute.objects.filter(finished_at__isnull=True).order_by("id")[:20])


# The timeline step's columns that keep the SLA level's name in each language, and their source columns.
SLA_NAME_COLUMNS = {"sla_name": "name_ru", "sla_name_en": "name_en"}


def sla_names_of_ticket() -> list[Coalesce]:
    """Return, for a set-based INSERT ... SELECT over tickets, the ticket's SLA name in each language
    (the order of SLA_NAME_COLUMNS; empty without an SLA)."""
    return [
        Coalesce(
            Subquery(SlaLevel.objects.filter(pk=OuterRef("sla_id")).values(source)[:1]),
            Value("", output_field=CharField()),
        )
        for source in SLA_NAME_COLUMNS.values()
    ]


# -- choice of SLA on creation (F-06) ----------------------------------------------------------
@dataclass(frozen=True)
class SlaChoice:
    """The SLA a new ticket gets and why (F-06), for the creation line of its history."""

    sla: SlaLevel | None
    reason: str  # "explicit" | "coupon" | "group" | "default" | "none"


def choose_sla(
    *,
    explicit: SlaLevel | None,
    coupon_sla: SlaLevel | None,
    author_group_ids: set[int],
    levels: Iterable[tuple[SlaLevel, AbstractSet[int]]],
    default: SlaLevel | None,
) -> SlaChoice:
    """Decide a new ticket's SLA (pure): staff's choice, else a coupon's, else the author's groups' highest
    priority (ties: the oldest level), else the default. Criticality never selects the SLA."""
    if explicit is not None:
        return SlaChoice(explicit, "explicit")
    if coupon_sla is not None:
        return SlaChoice(coupon_sla, "coupon")
    fitting = [sla for sla, groups in levels if groups & author_group_ids]
    if fitting:
        return SlaChoice(max(fitting, key=lambda s: (s.priority, -s.pk)), "group")
    if default is not None:
        return SlaChoice(default, "default")
    return SlaChoice(None, "none")


def author_group_ids(author: User | None) -> set[int]:
    """Return the groups that count for the SLA choice: the author's own plus "everyone"."""
    from django.contrib.auth.models import Group

    ids = set(
        config_cached(
            "everyone-group",
            lambda: list(Group.objects.filter(name=EVERYONE_GROUP).values_list("pk", flat=True)),
        )
    )
    if author is not None and author.pk is not None:
        ids |= set(
            config_cached(f"groups:{author.pk}", lambda: list(author.groups.values_list("pk", flat=True)))
        )
    return ids


def _active_levels() -> list[tuple[SlaLevel, frozenset[int]]]:
    """Return the active levels with the groups each serves, for the configuration cache."""
    active = SlaLevel.objects.filter(active=True).select_related("timetable", "responsible")
    return [(sla, frozenset(g.pk for g in sla.groups.all())) for sla in active.prefetch_related("groups")]


def sla_for_new_ticket(
    author: User | None, *, explicit: SlaLevel | None = None, coupon_sla: SlaLevel | None = None
) -> SlaChoice:
    """Choose the SLA of a new ticket by F-06's order (anonymous and e-mail authors: "everyone")."""
    levels = config_cached("sla-levels", _active_levels)
    default = next((sla for sla, _groups in levels if sla.is_default), None)
    return choose_sla(
        explicit=explicit,
        coupon_sla=coupon_sla,
        author_group_ids=author_group_ids(author),
        levels=levels,
        default=default,
    )
