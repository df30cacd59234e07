"""Working-time arithmetic (otklik.sla.calendars): hand-checked cases and properties against a slow walker."""

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otklik.sla.calendars import (
    Exceptions,
    NoWorkingTime,
    WeekSchedule,
    WorkingCalendar,
    day_intervals,
    production_calendar_exceptions,
)
from tests.helpers import MSK, msk

CALENDAR_FILE = (
    Path(__file__).resolve().parents[2] / "shared" / "corpus" / "calendar" / "ru-production-calendar.json"
)
H = 3600


@pytest.fixture(scope="module")
def production() -> dict:
    if not CALENDAR_FILE.exists():
        pytest.fail(
            f"the production calendar is missing at {CALENDAR_FILE} (shared/ must sit beside the checkout)"
        )
    return json.loads(CALENDAR_FILE.read_text())


@pytest.fixture(scope="module")
def moscow(production) -> WorkingCalendar:
    week = WeekSchedule.workdays(10, 19)
    exceptions = production_calendar_exceptions(production, week, (2024, 2025, 2026))
    return WorkingCalendar(week, MSK, exceptions, around=date(2025, 6, 1))


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        # Inside working hours, within the day.
        (msk(2025, 3, 4, 11, 0), 6, msk(2025, 3, 4, 17, 0)),
        # The budget runs out exactly at the end of the day: 19:00, not the next opening.
        (msk(2025, 3, 4, 10, 0), 9, msk(2025, 3, 4, 19, 0)),
        (msk(2025, 3, 4, 15, 0), 4, msk(2025, 3, 4, 19, 0)),
        # Before opening and after closing.
        (msk(2025, 3, 4, 7, 30), 2, msk(2025, 3, 4, 12, 0)),
        (msk(2025, 3, 4, 20, 15), 2, msk(2025, 3, 5, 12, 0)),
        # Friday evening rolls over the weekend.
        (msk(2025, 2, 28, 17, 0), 4, msk(2025, 3, 3, 12, 0)),
        # New Year holidays 2025: 1-8 January closed (4 and 5 are a weekend); the 9th is the first working day.
        (msk(2024, 12, 30, 12, 0), 1, msk(2025, 1, 9, 11, 0)),
        # 2024-12-28 is a working Saturday (Monday's schedule); 30 and 31 December are holidays.
        (msk(2024, 12, 27, 18, 0), 3, msk(2024, 12, 28, 12, 0)),
        # 2025-11-01: a working Saturday that is also a short day (10:00-18:00); 3 and 4 November are off.
        (msk(2025, 10, 31, 18, 0), 8, msk(2025, 11, 1, 17, 0)),
        (msk(2025, 10, 31, 18, 0), 9, msk(2025, 11, 1, 18, 0)),
        (msk(2025, 10, 31, 18, 0), 10, msk(2025, 11, 5, 11, 0)),
        # A start on a holiday (2026-02-23, Defender of the Fatherland Day).
        (msk(2026, 2, 23, 12, 0), 1, msk(2026, 2, 24, 11, 0)),
        # 2024-03-07 is a short day before the 8 March holiday: it ends at 18:00.
        (msk(2024, 3, 7, 17, 0), 2, msk(2024, 3, 11, 11, 0)),
        # Weekend holiday moved to a Monday: 2026-03-09 (8 March fell on a Sunday).
        (msk(2026, 3, 6, 18, 0), 2, msk(2026, 3, 10, 11, 0)),
    ],
)
def test_add_moscow_production_calendar_hand_checked(moscow, start, hours, expected):
    assert moscow.add(start, hours * H) == expected
    assert moscow.between(start, expected) == hours * H


def test_short_day_and_working_saturday_intervals(production):
    week = WeekSchedule.workdays(10, 19)
    exceptions = production_calendar_exceptions(production, week, (2024, 2025))
    assert day_intervals(date(2025, 11, 1), week, exceptions) == [(10 * H, 18 * H)]
    assert day_intervals(date(2024, 12, 28), week, exceptions) == [(10 * H, 19 * H)]
    assert day_intervals(date(2025, 1, 6), week, exceptions) == []
    assert day_intervals(date(2024, 2, 22), week, exceptions) == [(10 * H, 18 * H)]


def test_next_working_inside_and_outside(moscow):
    assert moscow.next_working(msk(2025, 3, 4, 12, 0)) == msk(2025, 3, 4, 12, 0)
    assert moscow.next_working(msk(2025, 3, 4, 19, 0)) == msk(2025, 3, 5, 10, 0)
    assert moscow.next_working(msk(2025, 5, 1, 9, 0)) == msk(2025, 5, 5, 10, 0)


def test_add_zero_returns_start_and_naive_refused(moscow):
    start = msk(2025, 3, 8, 3, 0)
    assert moscow.add(start, 0) == start
    with pytest.raises(ValueError):
        moscow.add(datetime(2025, 3, 4, 12, 0), 60)


def test_dst_zone_day_lengths_follow_the_clock():
    berlin = ZoneInfo("Europe/Berlin")
    calendar = WorkingCalendar(WeekSchedule.around_the_clock(), berlin, around=date(2025, 3, 30))
    # 30 March 2025: clocks jump from 02:00 to 03:00, so the local day has 23 hours.
    day = datetime(2025, 3, 30, tzinfo=berlin)
    assert calendar.between(day, datetime(2025, 3, 31, tzinfo=berlin)) == 23 * H
    # 26 October 2025: 25 hours.
    autumn = datetime(2025, 10, 26, tzinfo=berlin)
    assert calendar.between(autumn, datetime(2025, 10, 27, tzinfo=berlin)) == 25 * H


def test_dst_zone_office_hours_are_local():
    berlin = ZoneInfo("Europe/Berlin")
    calendar = WorkingCalendar(WeekSchedule.workdays(9, 17), berlin, around=date(2025, 3, 30))
    friday = datetime(2025, 3, 28, 16, 0, tzinfo=berlin)  # UTC+1
    assert calendar.add(friday, 2 * H) == datetime(2025, 3, 31, 10, 0, tzinfo=berlin)  # UTC+2 by then


def test_midnight_spanning_interval_night_shift():
    week = WeekSchedule.build({d: [(22 * H, 26 * H)] for d in range(7)})  # 22:00-02:00 every night
    calendar = WorkingCalendar(week, MSK, around=date(2025, 3, 1))
    assert calendar.add(msk(2025, 3, 3, 23, 0), 2 * H) == msk(2025, 3, 4, 1, 0)
    assert calendar.add(msk(2025, 3, 3, 23, 0), 4 * H) == msk(2025, 3, 4, 23, 0)
    assert calendar.between(msk(2025, 3, 3, 12, 0), msk(2025, 3, 5, 12, 0)) == 8 * H


def test_timed_holiday_and_working_by_time_exceptions():
    week = WeekSchedule.workdays(10, 19)
    exceptions = Exceptions(
        cuts={date(2025, 3, 4): ((13 * H, 15 * H),)},
        working={date(2025, 3, 8): ((12 * H, 14 * H),)},
    )
    calendar = WorkingCalendar(week, MSK, exceptions, around=date(2025, 3, 1))
    assert calendar.add(msk(2025, 3, 4, 12, 0), 2 * H) == msk(2025, 3, 4, 16, 0)
    assert calendar.add(msk(2025, 3, 7, 18, 0), 2 * H) == msk(2025, 3, 8, 13, 0)


def test_long_span_far_from_window_grows_window():
    calendar = WorkingCalendar(WeekSchedule.workdays(10, 19), MSK, around=date(2025, 1, 1), window_days=30)
    start = msk(2025, 1, 6, 10, 0)
    end = calendar.add(start, 2000 * H)
    assert calendar.between(start, end) == 2000 * H
    # 2000 h of 9-hour weekdays is 222 days and 2 hours: about 44 weeks later.
    assert end.date() > date(2025, 10, 1)


def test_no_working_time_at_all_raises():
    calendar = WorkingCalendar(WeekSchedule.build({}), MSK, around=date(2025, 1, 1), window_days=10)
    calendar.MAX_WINDOW_DAYS = 400
    with pytest.raises(NoWorkingTime):
        calendar.add(msk(2025, 1, 1, 12, 0), 60)


# -- properties ----------------------------------------------------------------------------------
WEEK = WeekSchedule.build(
    {
        0: [(9 * H, 13 * H), (14 * H, 18 * H)],
        1: [(10 * H, 19 * H)],
        2: [(0, 24 * H)],
        3: [(22 * H, 26 * H)],
        4: [(8 * H, 12 * H)],
        5: [],
        6: [(12 * H, 13 * H)],
    }
)
EXCEPTIONS = Exceptions(
    holidays=frozenset({date(2025, 3, 10)}),
    as_weekday={date(2025, 3, 15): 1},
    cuts={date(2025, 3, 12): ((2 * H, 5 * H),)},
)
PROPERTY_CALENDAR = WorkingCalendar(WEEK, MSK, EXCEPTIONS, around=date(2025, 3, 15))
T0 = msk(2025, 3, 3, 0, 0)
minutes_from_t0 = st.integers(min_value=0, max_value=60 * 24 * 28)
budgets = st.integers(min_value=1, max_value=60 * 60)


def slow_add(start: datetime, minutes: int) -> datetime:
    """Reference: walk minute by minute (inputs are whole minutes), counting working minutes."""
    intervals_cache: dict[date, list] = {}

    def working(t: datetime) -> bool:
        local = t.astimezone(MSK)
        for back in (0, 1):  # intervals may spill past midnight from the day before
            day = local.date() - timedelta(days=back)
            if day not in intervals_cache:
                from otklik.sla.calendars import day_intervals

                intervals_cache[day] = day_intervals(day, WEEK, EXCEPTIONS)
            offset = (local - datetime(day.year, day.month, day.day, tzinfo=MSK)).total_seconds()
            if any(s <= offset < e for s, e in intervals_cache[day]):
                return True
        return False

    t, left = start, minutes
    while left:
        if working(t):
            left -= 1
        t += timedelta(minutes=1)
    return t


@settings(max_examples=60, deadline=None)
@given(minutes_from_t0, budgets)
def test_property_add_agrees_with_minute_walker(offset, budget):
    start = T0 + timedelta(minutes=offset)
    fast = PROPERTY_CALENDAR.add(start, budget * 60)
    slow = slow_add(start, budget)
    # The walker stops one minute after the last working minute began: the same instant.
    assert fast == slow


@settings(max_examples=200, deadline=None)
@given(minutes_from_t0, budgets, budgets)
def test_property_add_is_additive(offset, a, b):
    start = T0 + timedelta(minutes=offset)
    assert PROPERTY_CALENDAR.add(start, (a + b) * 60) == PROPERTY_CALENDAR.add(
        PROPERTY_CALENDAR.add(start, a * 60), b * 60
    )


@settings(max_examples=200, deadline=None)
@given(minutes_from_t0, budgets)
def test_property_between_inverts_add(offset, budget):
    start = T0 + timedelta(minutes=offset, seconds=offset % 60)
    assert PROPERTY_CALENDAR.between(start, PROPERTY_CALENDAR.add(start, budget * 60)) == budget * 60


@settings(max_examples=200, deadline=None)
@given(minutes_from_t0, minutes_from_t0, budgets, budgets)
def test_property_add_is_monotonic(o1, o2, m1, m2):
    t1, t2 = sorted((T0 + timedelta(minutes=o1), T0 + timedelta(minutes=o2)))
    m1, m2 = sorted((m1, m2))
    assert PROPERTY_CALENDAR.add(t1, m1 * 60) <= PROPERTY_CALENDAR.add(t2, m1 * 60)
    assert PROPERTY_CALENDAR.add(t1, m1 * 60) <= PROPERTY_CALENDAR.add(t1, m2 * 60)


def test_result_in_the_zone_of_the_start():
    start = datetime(2025, 3, 4, 8, 0, tzinfo=UTC)
    result = PROPERTY_CALENDAR.add(start, 60)
    assert result.tzinfo == UTC


def test_bundled_calendar_matches_the_corpus_and_counts_working_days(production):
    from otklik.sla.calendars import bundled_production_calendar

    bundled = bundled_production_calendar()
    assert bundled == production
    week = WeekSchedule.workdays(10, 19)
    exceptions = production_calendar_exceptions(bundled, week, (2025,))
    working_days = sum(
        1 for n in range(365) if day_intervals(date(2025, 1, 1) + timedelta(days=n), week, exceptions)
    )
    # The official 2025 figure for a five-day week: 247 working days.
    assert working_days == 247
