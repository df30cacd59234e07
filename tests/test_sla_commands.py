"""`otklik sla`: apply-calendar, add-working-time, working-time, and their one-line errors.

Expected values are counted by hand from the bundled 2025/2026 production calendar for a Mon–Fri
10:00–19:00 Moscow timetable (see the comment beside each case).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from otklik.sla.models import CalendarException, Timetable
from otklik.sla.selectors import calendars_forget
from otklik.sla.services import timetable_apply_calendar

CODE = "msk-workdays-10-19"
WORKDAYS_10_19 = [[[36000, 68400]]] * 5 + [[], []]


def sla(*args: str) -> str:
    out = io.StringIO()
    call_command("sla", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue().strip()


def sla_error(*args: str) -> CommandError:
    with pytest.raises(CommandError) as excinfo:
        sla(*args)
    return excinfo.value


@pytest.fixture(autouse=True)
def _fresh_calendars():
    # Rolled-back tests reuse primary keys and revisions, which key the per-process calendar cache.
    calendars_forget()
    yield
    calendars_forget()


@pytest.fixture
def moscow(db) -> Timetable:
    timetable = Timetable.objects.create(code=CODE, name="Moscow workdays", week=WORKDAYS_10_19)
    timetable_apply_calendar(timetable, 2025)
    timetable_apply_calendar(timetable, 2026)
    return timetable


# -- apply-calendar ------------------------------------------------------------------------------
def test_apply_calendar_2025_prints_count_and_makes_rows(db):
    timetable = Timetable.objects.create(code=CODE, name="Moscow workdays", week=WORKDAYS_10_19)
    # 2025: 7 runs of holidays (Jan 1-3, Jan 6-8, May 1-2, May 8-9, Jun 12-13, Nov 3-4, Dec 31),
    # 1 transferred working Saturday (Nov 1), 4 short days (Mar 7, Apr 30, Jun 11, Nov 1) = 12.
    out = sla("apply-calendar", "--timetable", CODE, "--year", "2025")
    assert out == f"Applied the 2025 production calendar to {CODE}: 12 exceptions."
    assert CalendarException.objects.filter(timetable=timetable, origin="calendar:2025").count() == 12
    timetable.refresh_from_db()
    assert timetable.calendar_years == [2025]


def test_apply_calendar_twice_replaces_rows(db):
    timetable = Timetable.objects.create(code=CODE, name="Moscow workdays", week=WORKDAYS_10_19)
    sla("apply-calendar", "--timetable", CODE, "--year", "2026")
    # 2026: 9 runs of holidays, no transferred days, 4 short days = 13, the same again on a re-run.
    out = sla("apply-calendar", "--timetable", CODE, "--year", "2026")
    assert out == f"Applied the 2026 production calendar to {CODE}: 13 exceptions."
    assert CalendarException.objects.filter(timetable=timetable).count() == 13


def test_apply_calendar_unknown_year_fails_with_known_years(db):
    Timetable.objects.create(code=CODE, name="Moscow workdays", week=WORKDAYS_10_19)
    error = sla_error("apply-calendar", "--timetable", CODE, "--year", "2030")
    assert str(error) == "The production calendar has no data for 2030; it has 2024, 2025, 2026."
    assert error.returncode != 0
    assert not CalendarException.objects.exists()


def test_apply_calendar_year_not_a_number_fails(db):
    error = sla_error("apply-calendar", "--timetable", CODE, "--year", "20x5")
    assert "--year" in str(error) and "20x5" in str(error)


def test_apply_calendar_unknown_code_fails_naming_known_codes(moscow):
    error = sla_error("apply-calendar", "--timetable", "nope", "--year", "2025")
    assert str(error) == f"There is no timetable with the code 'nope' (known codes: {CODE})."


# -- add-working-time ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("start", "minutes", "expected"),
    [
        # Tue 30 Dec 18:00-19:00 is 60 min; Dec 31 and Jan 1-11 are holidays or weekend; Mon 12 Jan
        # opens at 10:00 and the other 60 min end at 11:00.
        ("2025-12-30T18:00+03:00", 120, "2026-01-12T11:00:00+03:00"),
        # The same instant given in UTC answers in the timetable's zone.
        ("2025-12-30T15:00:00Z", 120, "2026-01-12T11:00:00+03:00"),
        # Fri 31 Oct 18:00-19:00 is 60 min; Sat 1 Nov is a transferred working day opening at 10:00.
        ("2025-10-31T18:00+03:00", 120, "2025-11-01T11:00:00+03:00"),
        # Sat 1 Nov is also a short day (10:00-18:00): 17:00-18:00 is 60 min; Sun 2 off, Mon 3 and
        # Tue 4 holidays; Wed 5 Nov 10:00-11:00 the rest.
        ("2025-11-01T17:00+03:00", 120, "2025-11-05T11:00:00+03:00"),
        # The budget runs out exactly at the short day's end: 18:00, not the next opening.
        ("2025-11-01T10:00+03:00", 480, "2025-11-01T18:00:00+03:00"),
        # Nothing to add: the instant itself, in the timetable's zone.
        ("2025-12-30T15:00:00+00:00", 0, "2025-12-30T18:00:00+03:00"),
    ],
)
def test_add_working_time_hand_checked_cases_print_instant(moscow, start, minutes, expected):
    assert (
        sla("add-working-time", "--timetable", CODE, "--from", start, "--minutes", str(minutes)) == expected
    )


def test_add_working_time_negative_minutes_fails(moscow):
    error = sla_error(
        "add-working-time", "--timetable", CODE, "--from", "2025-12-30T18:00+03:00", "--minutes", "-5"
    )
    assert str(error) == "--minutes must not be negative (got -5)."


def test_add_working_time_naive_time_fails(moscow):
    error = sla_error("add-working-time", "--timetable", CODE, "--from", "2025-12-30T18:00", "--minutes", "5")
    assert str(error) == (
        "--from '2025-12-30T18:00' has no UTC offset, so the instant is ambiguous; "
        "write it like 2025-12-30T18:00+03:00."
    )


def test_add_working_time_malformed_time_fails(moscow):
    error = sla_error("add-working-time", "--timetable", CODE, "--from", "yesterday", "--minutes", "5")
    assert str(error) == "--from 'yesterday' is not an ISO 8601 time; write it like 2025-12-30T18:00+03:00."


def test_add_working_time_unknown_code_fails(moscow):
    error = sla_error(
        "add-working-time", "--timetable", "nope", "--from", "2025-12-30T18:00+03:00", "--minutes", "5"
    )
    assert "no timetable with the code 'nope'" in str(error)


def test_add_working_time_closed_timetable_fails_cleanly(db):
    Timetable.objects.create(code="never", name="Never open")
    error = sla_error(
        "add-working-time", "--timetable", "never", "--from", "2025-12-30T18:00+03:00", "--minutes", "5"
    )
    assert str(error) == "Timetable never has no working time within reach of that instant."


# -- working-time --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        # The add-working-time case backwards.
        ("2025-12-30T18:00+03:00", "2026-01-12T11:00+03:00", "120"),
        ("2026-01-12T11:00+03:00", "2025-12-30T18:00+03:00", "-120"),
        # Two weeks from Mon 27 Oct: 5 x 9 h, Sat 1 Nov 8 h (short), Nov 3-4 holidays, Nov 5-7 3 x 9 h
        # = 80 h = 4800 min.
        ("2025-10-27T00:00+03:00", "2025-11-10T00:00+03:00", "4800"),
        # Half a minute before closing; the offset of the end differs but the instants are what count.
        ("2025-12-30T18:59:30+03:00", "2025-12-30T16:00:00+00:00", "0.5"),
        # Twenty seconds: a third of a minute, two decimals at most.
        ("2025-12-30T18:59:40+03:00", "2025-12-30T19:00:00+03:00", "0.33"),
        # A weekend holds no working time.
        ("2026-01-10T09:00+03:00", "2026-01-11T21:00+03:00", "0"),
    ],
)
def test_working_time_hand_checked_cases_print_minutes(moscow, start, end, expected):
    assert sla("working-time", "--timetable", CODE, "--from", start, "--to", end) == expected


def test_working_time_naive_end_fails(moscow):
    error = sla_error(
        "working-time", "--timetable", CODE, "--from", "2025-12-30T18:00+03:00", "--to", "2026-01-12"
    )
    assert str(error).startswith("--to '2026-01-12' has no UTC offset")


def test_working_time_unknown_code_fails(db):
    error = sla_error(
        "working-time",
        "--timetable",
        "nope",
        "--from",
        "2025-12-30T18:00+03:00",
        "--to",
        "2026-01-12T11:00+03:00",
    )
    assert str(error) == "There is no timetable with the code 'nope' (known codes: none yet)."


def test_sla_without_action_fails(db):
    error = sla_error()
    assert "ACTION" in str(error) or "action" in str(error)


def test_sla_bad_input_on_command_line_exits_non_zero_with_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTKLIK_")}
    # Its own data directory: the input is refused before any database is read.
    env.update(OTKLIK_DATA_DIR=str(tmp_path / "data"), DJANGO_SETTINGS_MODULE="otklik.settings")
    result = subprocess.run(
        [sys.executable, "-m", "otklik", "sla", "add-working-time", "--timetable", CODE]
        + ["--from", "2025-12-30T18:00", "--minutes", "5"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "CommandError: --from '2025-12-30T18:00' has no UTC offset, so the instant is ambiguous; "
        "write it like 2025-12-30T18:00+03:00."
    ]
