"""Working-time arithmetic over a timetable and its exceptions: plain data in, aware datetimes out, no ORM.

A `WorkingCalendar` turns a weekly schedule, a time zone and dated exceptions into one sorted list of
working intervals in UTC seconds with cumulative sums. Every question is then a binary search:

- `add(start, seconds)`: the instant when `seconds` of working time have passed since `start`;
- `between(a, b)`: how much working time lies between two instants;
- `next_working(instant)`: the instant itself when it is working time, else the next opening.

The cost of a call does not depend on the span it covers. The interval list covers a window of days and
grows (rebuilt once, doubled) when a question reaches past it. When the budget runs out exactly at the end
of an interval, `add` answers that end (19:00), not the next opening.

Day rules (SPEC F-07): any whole-day holiday closes the day; else working-by-time exceptions replace the
weekday's schedule (a "work as weekday N" day runs that weekday's schedule); then timed holidays are cut out.
Intervals may cross midnight (22:00-02:00 is given as 79200-93600 seconds) and 24-hour days are (0, 86400).
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

DAY = 86_400
Interval = tuple[int, int]  # seconds from local midnight, end exclusive; end may pass 86,400


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sort and merge overlapping or touching intervals; drop empty ones."""
    result: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if result and start <= result[-1][1]:
            result[-1] = (result[-1][0], max(result[-1][1], end))
        else:
            result.append((start, end))
    return result


def subtract(intervals: Sequence[Interval], cut: Interval) -> list[Interval]:
    """Remove `cut` from every interval."""
    result: list[Interval] = []
    for start, end in intervals:
        if cut[1] <= start or cut[0] >= end:
            result.append((start, end))
            continue
        if start < cut[0]:
            result.append((start, cut[0]))
        if cut[1] < end:
            result.append((cut[1], end))
    return result


@dataclass(frozen=True)
class WeekSchedule:
    """Working intervals per weekday (0 = Monday), in seconds from local midnight."""

    days: tuple[tuple[Interval, ...], ...]

    @classmethod
    def build(cls, per_weekday: dict[int, Iterable[Interval]]) -> WeekSchedule:
        return cls(tuple(tuple(merge(per_weekday.get(d, ()))) for d in range(7)))

    @classmethod
    def around_the_clock(cls) -> WeekSchedule:
        return cls.build({d: [(0, DAY)] for d in range(7)})

    @classmethod
    def workdays(cls, start_hour: int, end_hour: int) -> WeekSchedule:
        return cls.build({d: [(start_hour * 3600, end_hour * 3600)] for d in range(5)})


@dataclass(frozen=True)
class Exceptions:
    """Dated exceptions, already resolved to the days of one timetable.

    holidays: whole days off; working: days whose schedule is replaced by these intervals;
    as_weekday: days that run another weekday's schedule; cuts: (day, interval) cut out of that day.
    """

    holidays: frozenset[date] = frozenset()
    working: dict[date, tuple[Interval, ...]] = field(default_factory=dict)
    as_weekday: dict[date, int] = field(default_factory=dict)
    cuts: dict[date, tuple[Interval, ...]] = field(default_factory=dict)


def day_intervals(
    day: date, week: WeekSchedule, exceptions: Exceptions, *, cut: bool = True
) -> list[Interval]:
    """Return the working intervals of one local day after applying the exceptions (cuts too unless told)."""
    if day in exceptions.holidays:
        return []
    if day in exceptions.working:
        intervals = merge(exceptions.working[day])
    elif day in exceptions.as_weekday:
        intervals = list(week.days[exceptions.as_weekday[day]])
    else:
        intervals = list(week.days[day.weekday()])
    if cut:
        for piece in exceptions.cuts.get(day, ()):
            intervals = subtract(intervals, piece)
    return intervals


def local_working_line(week: WeekSchedule, exceptions: Exceptions, first: date, last: date) -> list[Interval]:
    """Lay out the working intervals of local days first..last on one time line, in seconds from the
    local midnight that starts `first`: merged, with timed holidays cut out. Cuts apply on the line, so a
    cut after midnight also trims the previous day's late shift."""
    spans: list[Interval] = []
    cuts: list[Interval] = []
    for offset, day in enumerate(_days(first, last)):
        base = offset * DAY
        spans.extend((base + s, base + e) for s, e in day_intervals(day, week, exceptions, cut=False))
        cuts.extend((base + s, base + e) for s, e in exceptions.cuts.get(day, ()))
    return _subtract_all(merge(spans), merge(cuts))


def _subtract_all(intervals: list[Interval], cuts: list[Interval]) -> list[Interval]:
    """Remove sorted, merged `cuts` from sorted, merged `intervals` in one pass."""
    if not cuts:
        return intervals
    result: list[Interval] = []
    j = 0
    for start, end in intervals:
        while j < len(cuts) and cuts[j][1] <= start:
            j += 1
        k = j
        while k < len(cuts) and cuts[k][0] < end:
            if cuts[k][0] > start:
                result.append((start, cuts[k][0]))
            start = max(start, cuts[k][1])
            k += 1
        if start < end:
            result.append((start, end))
    return result


@dataclass(frozen=True)
class ExceptionSpec:
    """One stored exception in plain terms: a kind, local days, and for timed kinds seconds of the day.

    Timed kinds cover first_day at `start` .. last_day at `end`, local time; an end of 86,400 is the
    midnight that closes last_day.
    """

    kind: str  # "holiday" | "holiday_time" | "working_time" | "as_weekday"
    first_day: date
    last_day: date
    start: int = 0
    end: int = DAY
    weekday: int | None = None


def _days(first: date, last: date) -> Iterable[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _per_day(spec: ExceptionSpec) -> Iterable[tuple[date, Interval]]:
    """Split a timed exception's local range into (day, interval) pieces."""
    for day in _days(spec.first_day, spec.last_day):
        start = spec.start if day == spec.first_day else 0
        end = spec.end if day == spec.last_day else DAY
        if end > start:
            yield day, (start, end)


def resolve_exceptions(specs: Iterable[ExceptionSpec]) -> Exceptions:
    """Combine stored exceptions into per-day rules (SPEC F-07).

    Holidays close whole days; working ranges replace their days' schedules (several merge); "work as
    weekday N" days run that weekday's schedule; timed holidays are cut out afterwards.
    """
    holidays: set[date] = set()
    working: dict[date, list[Interval]] = {}
    as_weekday: dict[date, int] = {}
    cuts: dict[date, list[Interval]] = {}
    for spec in specs:
        if spec.kind == "holiday":
            holidays.update(_days(spec.first_day, spec.last_day))
        elif spec.kind == "as_weekday" and spec.weekday is not None:
            as_weekday.update((day, spec.weekday) for day in _days(spec.first_day, spec.last_day))
        elif spec.kind == "working_time":
            for day, interval in _per_day(spec):
                working.setdefault(day, []).append(interval)
        elif spec.kind == "holiday_time":
            for day, interval in _per_day(spec):
                cuts.setdefault(day, []).append(interval)
    return Exceptions(
        holidays=frozenset(holidays),
        working={day: tuple(merge(v)) for day, v in working.items()},
        as_weekday=as_weekday,
        cuts={day: tuple(v) for day, v in cuts.items()},
    )


class NoWorkingTime(ValueError):
    """The calendar has no working time at all within reach."""


class WorkingCalendar:
    """Answer working-time questions for one timetable in one time zone."""

    # How far to look for the next working interval before declaring there is none.
    MAX_WINDOW_DAYS = 366 * 60

    def __init__(
        self,
        week: WeekSchedule,
        tz: str | ZoneInfo,
        exceptions: Exceptions | None = None,
        *,
        around: date | None = None,
        window_days: int = 3 * 366,
    ):
        self.week = week
        self.tz = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
        self.exceptions = exceptions or Exceptions()
        centre = around or datetime.now(UTC).date()
        half = timedelta(days=window_days // 2)
        self._layout = self._build(centre - half, centre + half)

    # -- building ------------------------------------------------------------------------------
    def _build(self, first: date, last: date) -> _Layout:
        """Lay out the working intervals of local days first..last as UTC seconds with cumulative sums."""
        origin = (first - date(1970, 1, 1)).days * DAY  # local midnight as if the zone were UTC
        local = [
            (origin + s, origin + e) for s, e in local_working_line(self.week, self.exceptions, first, last)
        ]
        starts: list[int] = []
        ends: list[int] = []
        for start, end in merge(local):
            utc_start, utc_end = self._to_utc(start), self._to_utc(end)
            if utc_end <= utc_start:
                continue  # swallowed by a DST jump
            if starts and utc_start <= ends[-1]:
                ends[-1] = max(ends[-1], utc_end)
            else:
                starts.append(utc_start)
                ends.append(utc_end)
        cumulative = [0]
        for start, end in zip(starts, ends, strict=True):
            cumulative.append(cumulative[-1] + end - start)
        lo = self._to_utc(origin)
        hi = self._to_utc(origin + ((last - first).days + 1) * DAY)
        return _Layout(first, last, starts, ends, cumulative, lo, hi)

    def _to_utc(self, local_seconds: int) -> int:
        """Convert "seconds since 1970-01-01 local wall time" to a UTC timestamp in this zone."""
        wall = datetime(1970, 1, 1) + timedelta(seconds=local_seconds)
        return int(wall.replace(tzinfo=self.tz).timestamp())

    def _cover(self, lo: int, hi: int) -> _Layout:
        """Return a layout whose window holds the UTC range lo..hi, rebuilding (doubling) when needed.

        Calendars are shared between threads: a layout is never changed once built, and the new one
        replaces the old in a single assignment, so a reader always sees a whole layout.
        """
        layout = self._layout
        while lo < layout.lo or hi > layout.hi:
            span = (layout.last - layout.first).days + 1
            if span > self.MAX_WINDOW_DAYS:
                raise NoWorkingTime("the instant is too far from the calendar's window")
            first = layout.first - timedelta(days=span) if lo < layout.lo else layout.first
            last = layout.last + timedelta(days=span) if hi > layout.hi else layout.last
            layout = self._build(first, last)
            self._layout = layout
        return layout

    @property
    def first(self) -> date:
        return self._layout.first

    @property
    def last(self) -> date:
        return self._layout.last

    # -- questions -----------------------------------------------------------------------------
    def between(self, a: datetime, b: datetime) -> int:
        """Return the working seconds between two aware instants (negative when b is before a)."""
        ta, tb = _seconds(a), _seconds(b)
        layout = self._cover(min(ta, tb), max(ta, tb))
        return layout.worked_before(tb) - layout.worked_before(ta)

    def add(self, start: datetime, seconds: int) -> datetime:
        """Return the instant at which `seconds` of working time have passed since `start`."""
        if seconds < 0:
            raise ValueError("seconds must not be negative")
        t = _seconds(start)
        if seconds == 0:
            return _instant(t, start)
        layout = self._cover(t, t)
        while True:
            target = layout.worked_before(t) + seconds
            if target <= layout.cum[-1]:
                # The first interval whose cumulative end reaches the target: an exact end stays an end.
                j = bisect.bisect_left(layout.cum, target, lo=1) - 1
                return _instant(layout.starts[j] + target - layout.cum[j], start)
            layout = self._cover(t, layout.hi + (layout.hi - layout.lo))

    def next_working(self, instant: datetime) -> datetime:
        """Return the instant if it is working time, else the start of the next working interval."""
        t = _seconds(instant)
        layout = self._cover(t, t)
        while True:
            i = bisect.bisect_right(layout.starts, t) - 1
            if i >= 0 and t < layout.ends[i]:
                return _instant(t, instant)
            if i + 1 < len(layout.starts):
                return _instant(layout.starts[i + 1], instant)
            layout = self._cover(t, layout.hi + (layout.hi - layout.lo))


@dataclass(frozen=True, slots=True)
class _Layout:
    """The working intervals of a window of days, in UTC seconds, with cumulative working time."""

    first: date
    last: date
    starts: list[int]
    ends: list[int]
    cum: list[int]
    lo: int
    hi: int

    def worked_before(self, t: int) -> int:
        """Working seconds from the window's start up to the UTC second t."""
        i = bisect.bisect_right(self.starts, t) - 1
        if i < 0:
            return 0
        return self.cum[i] + min(t, self.ends[i]) - self.starts[i]


def _seconds(instant: datetime) -> int:
    if instant.tzinfo is None:
        raise ValueError("a naive datetime has no place on a working calendar; give a time zone")
    return int(instant.timestamp())


def _instant(seconds: int, like: datetime) -> datetime:
    """Return the UTC second as an aware datetime in the zone of `like`."""
    return datetime.fromtimestamp(seconds, UTC).astimezone(like.tzinfo)


def production_calendar_exceptions(calendar: dict, week: WeekSchedule, years: Iterable[int]) -> Exceptions:
    """Turn production-calendar data into exceptions for one weekly schedule.

    `calendar` maps "YYYY" to {"holidays", "working_weekends", "short_days"} lists of ISO dates (the
    format of shared/corpus/calendar). Holidays close the day; a transferred working Saturday or Sunday
    runs Monday's schedule; a short day ends one hour earlier (its last interval loses its last hour).
    """
    holidays: set[date] = set()
    as_weekday: dict[date, int] = {}
    cuts: dict[date, tuple[Interval, ...]] = {}
    for year in years:
        data = calendar.get(str(year), {})
        holidays.update(date.fromisoformat(d) for d in data.get("holidays", ()))
        as_weekday.update((date.fromisoformat(d), 0) for d in data.get("working_weekends", ()))
    partial = Exceptions(holidays=frozenset(holidays), as_weekday=as_weekday)
    for year in years:
        for iso in calendar.get(str(year), {}).get("short_days", ()):
            day = date.fromisoformat(iso)
            intervals = day_intervals(day, week, partial)
            if intervals:
                end = intervals[-1][1]
                cuts[day] = ((max(intervals[-1][0], end - 3600), end),)
    return Exceptions(holidays=frozenset(holidays), as_weekday=as_weekday, cuts=cuts)


BUNDLED_CALENDAR = Path(__file__).resolve().parent / "data" / "ru-production-calendar.json"


def bundled_production_calendar() -> dict:
    """Return the Russian federal production calendar shipped with Otklik (years 2024-2026)."""
    return json.loads(BUNDLED_CALENDAR.read_text(encoding="utf-8"))
