"""SLA configuration edits reach the cached working calendars; weeks round-trip; calendars are thread-safe."""

import threading
from datetime import UTC, date, datetime, timedelta

import pytest

from otklik.core.errors import ValidationFailed
from otklik.sla.calendars import WeekSchedule, WorkingCalendar
from otklik.sla.models import CalendarException, ExceptionKind, SlaLevel, Timetable
from otklik.sla.selectors import working_calendar
from otklik.sla.services import timetable_save_week, week_validate
from tests.helpers import MSK, msk

WORKDAY = [[36000, 68400]]


@pytest.fixture
def tables(db):
    week = [WORKDAY] * 5 + [[], []]
    return (
        Timetable.objects.create(code="a", name="A", week=week),
        Timetable.objects.create(code="b", name="B", week=week),
    )


def test_moving_an_exception_between_timetables_refreshes_both_cached_calendars(tables):
    a, b = tables
    monday = msk(2025, 10, 27, 10, 0)
    holiday = CalendarException.objects.create(
        name="Office move",
        kind=ExceptionKind.HOLIDAY,
        first_day=date(2025, 10, 27),
        last_day=date(2025, 10, 27),
        timetable=a,
    )
    a.refresh_from_db()
    assert working_calendar(timetable=a).add(monday, 3600) == msk(2025, 10, 28, 11, 0)
    assert working_calendar(timetable=b).add(monday, 3600) == msk(2025, 10, 27, 11, 0)
    holiday.timetable = b
    holiday.save()
    a.refresh_from_db()
    b.refresh_from_db()
    assert working_calendar(timetable=a).add(monday, 3600) == msk(2025, 10, 27, 11, 0)
    assert working_calendar(timetable=b).add(monday, 3600) == msk(2025, 10, 28, 11, 0)


def test_choosing_and_deleting_an_sla_exception_refreshes_its_calendar(tables):
    a, _b = tables
    sla = SlaLevel.objects.create(name="S", response_time=1, timetable=a)
    monday = msk(2025, 10, 27, 10, 0)
    assert working_calendar(sla).add(monday, 3600) == msk(2025, 10, 27, 11, 0)
    short = CalendarException.objects.create(
        name="Training", kind=ExceptionKind.HOLIDAY, first_day=date(2025, 10, 27), last_day=date(2025, 10, 27)
    )
    sla.exceptions.add(short)
    sla = SlaLevel.objects.get(pk=sla.pk)
    assert working_calendar(sla).add(monday, 3600) == msk(2025, 10, 28, 11, 0)
    short.delete()
    sla = SlaLevel.objects.get(pk=sla.pk)
    assert working_calendar(sla).add(monday, 3600) == msk(2025, 10, 27, 11, 0)


def test_a_merged_run_past_midnight_loads_back_and_saves_again(tables):
    a, _b = tables
    week = [[[0, 86400], [79200, 93600]]] + [[]] * 6  # Monday around the clock plus a 22:00-02:00 shift
    timetable_save_week(a, week)
    a.refresh_from_db()
    assert a.week[0] == [[0, 93600]]
    timetable_save_week(a, a.week)  # what an API round trip does
    assert (
        working_calendar(timetable=a).between(msk(2025, 10, 27, 0, 0), msk(2025, 10, 28, 3, 0)) == 26 * 3600
    )


@pytest.mark.parametrize(
    "week",
    [
        [[]] * 6,
        "monday",
        [[["10:00", "19:00"]]] + [[]] * 6,
        [[[36000]]] + [[]] * 6,
        [[[68400, 36000]]] + [[]] * 6,
        [[[90000, 95000]]] + [[]] * 6,
        [[[0, 2 * 86400 + 1]]] + [[]] * 6,
    ],
)
def test_bad_weeks_are_refused_with_a_field_message(week):
    with pytest.raises(ValidationFailed) as caught:
        week_validate(week)
    assert "week" in caught.value.errors


def test_a_calendar_shared_by_threads_answers_as_a_fresh_one_while_it_grows():
    week = WeekSchedule.workdays(10, 19)

    def fresh():
        return WorkingCalendar(week, MSK, around=date(2025, 1, 1), window_days=8)

    shared = fresh()
    starts = [datetime(2025, 1, 1, tzinfo=UTC) + timedelta(days=37 * i, hours=i) for i in range(-40, 40)]
    expected = {(s, m): fresh().add(s, m * 60) for s in starts for m in (1, 600, 6000)}
    errors = []

    def work(offset):
        try:
            for s in starts[offset::4]:
                for m in (1, 600, 6000):
                    if shared.add(s, m * 60) != expected[(s, m)]:
                        errors.append((s, m))
        except Exception as exc:  # the test reports any crash of a thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
