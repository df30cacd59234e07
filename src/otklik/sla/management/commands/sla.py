"""`otklik sla ...`: apply the production calendar to a timetable and answer working-time questions.

    otklik sla apply-calendar --timetable CODE --year YYYY
    otklik sla add-working-time --timetable CODE --from 2025-12-30T18:00+03:00 --minutes 120
    otklik sla working-time --timetable CODE --from 2025-12-30T18:00+03:00 --to 2026-01-12T11:00+03:00

Instants are ISO 8601 with an offset (a naive time would be ambiguous). `working-time` prints minutes:
a whole number when the span is whole minutes, else minutes with up to two decimals (1.5); negative when
--to is before --from.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.core.management.base import BaseCommand, CommandError, CommandParser

from otklik.core.errors import ValidationFailed
from otklik.sla.calendars import NoWorkingTime, bundled_production_calendar
from otklik.sla.models import Timetable
from otklik.sla.selectors import working_calendar
from otklik.sla.services import timetable_apply_calendar

EXAMPLE_INSTANT = "2025-12-30T18:00+03:00"


class Command(BaseCommand):
    help = "Timetables' working time: apply the production calendar, add working time, measure it."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

        apply = actions.add_parser(
            "apply-calendar",
            help="Turn a year of the bundled production calendar into the timetable's exceptions "
            "(re-applying a year replaces the rows it made before).",
        )
        _timetable_argument(apply)
        apply.add_argument("--year", required=True, type=int, metavar="YYYY")

        add = actions.add_parser(
            "add-working-time",
            help="Print the instant when MINUTES of working time have passed since --from, "
            "in the timetable's time zone.",
        )
        _timetable_argument(add)
        add.add_argument("--from", dest="start", required=True, metavar="ISO8601")
        add.add_argument("--minutes", required=True, type=int, metavar="N")

        measure = actions.add_parser(
            "working-time",
            help="Print the working minutes between two instants: a whole number when the span is "
            "whole minutes, else with up to two decimals; negative when --to is before --from.",
        )
        _timetable_argument(measure)
        measure.add_argument("--from", dest="start", required=True, metavar="ISO8601")
        measure.add_argument("--to", dest="end", required=True, metavar="ISO8601")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        # Check what the user typed before touching the database, so a typo is reported as such.
        if action == "apply-calendar":
            year = options["year"]
            years = sorted(bundled_production_calendar())
            if str(year) not in years:
                raise CommandError(
                    f"The production calendar has no data for {year}; it has {', '.join(years)}."
                )
            timetable = _timetable(options["timetable"])
            self.apply_calendar(timetable, year)
        elif action == "add-working-time":
            start = _instant(options["start"], "--from")
            minutes = options["minutes"]
            if minutes < 0:
                raise CommandError(f"--minutes must not be negative (got {minutes}).")
            self.add_working_time(_timetable(options["timetable"]), start, minutes)
        elif action == "working-time":
            start, end = _instant(options["start"], "--from"), _instant(options["end"], "--to")
            self.working_time(_timetable(options["timetable"]), start, end)

    def apply_calendar(self, timetable: Timetable, year: int) -> None:
        try:
            count = timetable_apply_calendar(timetable, year)
        except ValidationFailed as error:
            raise CommandError(error.text()) from None
        noun = "exception" if count == 1 else "exceptions"
        self.stdout.write(f"Applied the {year} production calendar to {timetable.code}: {count} {noun}.")

    def add_working_time(self, timetable: Timetable, start: datetime, minutes: int) -> None:
        try:
            end = working_calendar(timetable=timetable).add(start, minutes * 60)
        except (NoWorkingTime, OverflowError) as error:
            raise CommandError(_out_of_reach(timetable, error)) from None
        self.stdout.write(end.astimezone(ZoneInfo(timetable.time_zone)).isoformat())

    def working_time(self, timetable: Timetable, start: datetime, end: datetime) -> None:
        try:
            seconds = working_calendar(timetable=timetable).between(start, end)
        except (NoWorkingTime, OverflowError) as error:
            raise CommandError(_out_of_reach(timetable, error)) from None
        self.stdout.write(minutes_text(seconds))


def minutes_text(seconds: int) -> str:
    """Write seconds as minutes: "90" when whole, else up to two decimals ("1.5", "0.02")."""
    if seconds % 60 == 0:
        return str(seconds // 60)
    return f"{seconds / 60:.2f}".rstrip("0").rstrip(".")


def _timetable_argument(parser: CommandParser) -> None:
    parser.add_argument("--timetable", required=True, metavar="CODE", help="The timetable's symbolic code.")


def _timetable(code: str) -> Timetable:
    timetable = Timetable.objects.filter(code=code).first()
    if timetable is None:
        known = ", ".join(Timetable.objects.order_by("code").values_list("code", flat=True)) or "none yet"
        raise CommandError(f"There is no timetable with the code {code!r} (known codes: {known}).")
    return timetable


def _instant(text: str, option: str) -> datetime:
    """Parse an ISO 8601 instant that carries its offset, or stop with a one-line message."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise CommandError(
            f"{option} {text!r} is not an ISO 8601 time; write it like {EXAMPLE_INSTANT}."
        ) from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise CommandError(
            f"{option} {text!r} has no UTC offset, so the instant is ambiguous; "
            f"write it like {EXAMPLE_INSTANT}."
        )
    return value


def _out_of_reach(timetable: Timetable, error: Exception) -> str:
    if isinstance(error, NoWorkingTime):
        return f"Timetable {timetable.code} has no working time within reach of that instant."
    return "The instant lies too far from today for the working calendar."
