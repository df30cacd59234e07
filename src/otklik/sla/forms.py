"""Forms of the SLA configuration pages: a timetable's week as seven readable rows, the calendar year."""

from __future__ import annotations

import re
import zoneinfo
from datetime import date

from django import forms
from django.core.exceptions import ValidationError
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from otklik.core.errors import ValidationFailed
from otklik.sla.calendars import DAY, bundled_production_calendar
from otklik.sla.models import Timetable, Weekday
from otklik.sla.services import week_validate

CLOSED = "closed"
AROUND_THE_CLOCK = "around_the_clock"
INTERVALS = "intervals"
DAY_MODES = [
    (CLOSED, _("closed")),
    (AROUND_THE_CLOCK, _("around the clock")),
    (INTERVALS, _("working hours")),
]

# "10:00-13:00", "9:30 – 18:00"; hyphen, en dash or em dash between the two times.
_INTERVAL = re.compile(r"^(\d{1,2}):(\d{2})\s*[-–—]\s*(\d{1,2}):(\d{2})$")


def _seconds(hours: str, minutes: str, *, end: bool) -> int | None:
    """Return seconds from midnight, or None when the time does not exist (24:00 is only an end)."""
    h, m = int(hours), int(minutes)
    if m > 59 or h > 24 or (h == 24 and (m or not end)):
        return None
    return h * 3600 + m * 60


def intervals_parse(text: str) -> list[list[int]]:
    """Turn "10:00-13:00, 22:00-02:00" into [[36000, 46800], [79200, 93600]] or raise ValidationError.

    An end at or before its start is on the next day (the interval crosses midnight); 24:00 is the
    midnight that closes the day. Pieces may be separated by commas, semicolons or new lines.
    """
    pairs: list[list[int]] = []
    for piece in re.split(r"[,;\n]", text):
        piece = piece.strip()
        if not piece:
            continue
        match = _INTERVAL.match(piece)
        if match is None:
            raise ValidationError(
                _("“%(piece)s” is not an interval; write it as 10:00-19:00."),
                code="format",
                params={"piece": piece},
            )
        start = _seconds(match[1], match[2], end=False)
        end = _seconds(match[3], match[4], end=True)
        if start is None or end is None:
            raise ValidationError(
                _("“%(piece)s” has a time that does not exist; use 00:00 to 23:59 (24:00 only as an end)."),
                code="time",
                params={"piece": piece},
            )
        if end <= start:
            end += DAY  # crosses midnight; an end equal to the start means a full 24 hours
        pairs.append([start, end])
    return pairs


def _clock(seconds: int) -> str:
    if seconds == DAY:
        return "24:00"
    seconds %= DAY
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def intervals_format(pairs) -> str:
    """Write stored [start, end] pairs the way intervals_parse reads them."""
    pieces: list[tuple[int, int]] = []
    for start, end in pairs:
        if end - start > DAY:
            # Merging can leave one run longer than a day (00:00-24:00 with 22:00-02:00); no single
            # piece says that, two overlapping ones do: 00:00-02:00 and a full day from 02:00.
            pieces += [(start, end - DAY), (end - DAY, end)]
        else:
            pieces.append((start, end))
    return ", ".join(f"{_clock(start)}-{_clock(end)}" for start, end in pieces)


def _time_zone_choices() -> list[tuple[str, str]]:
    return [(zone, zone) for zone in sorted(zoneinfo.available_timezones())]


def _week_fields() -> dict[str, forms.Field]:
    """Return a mode select and an intervals box per weekday, Monday first."""
    fields: dict[str, forms.Field] = {}
    for day in map(int, Weekday):
        label = Weekday(day).label
        fields[f"day_{day}_mode"] = forms.ChoiceField(label=label, choices=DAY_MODES, initial=CLOSED)
        fields[f"day_{day}_intervals"] = forms.CharField(
            label=_("Intervals"),
            required=False,
            max_length=500,
            help_text=_("For example 10:00-13:00, 14:00-19:00; 22:00-02:00 crosses midnight.")
            if day == Weekday.MONDAY
            else "",
            widget=forms.TextInput(
                attrs={
                    "size": 40,
                    "placeholder": "10:00-19:00",
                    "aria-label": format_lazy("{}: {}", label, _("working hours")),
                }
            ),
        )
    return fields


class TimetableForm(forms.ModelForm):
    """Edit a timetable with one row per weekday: a mode and, for working hours, the intervals."""

    time_zone = forms.ChoiceField(label=_("Time zone"), choices=_time_zone_choices, initial="Europe/Moscow")
    # Declared on the class (not added in __init__) so the admin's form factory accepts them in fieldsets.
    locals().update(_week_fields())

    class Meta:
        model = Timetable
        fields = ["code", "name_ru", "name_en", "time_zone"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        week = self.instance.week if self.instance.pk else []
        for day in map(int, Weekday):
            mode, text = _day_initial(week[day] if day < len(week) else [])
            self.initial.setdefault(f"day_{day}_mode", mode)
            self.initial.setdefault(f"day_{day}_intervals", text)

    @staticmethod
    def day_fields() -> list[tuple[str, str]]:
        """Return the (mode, intervals) field names of each weekday, Monday first (for fieldsets)."""
        return [(f"day_{day}_mode", f"day_{day}_intervals") for day in map(int, Weekday)]

    def clean(self):
        """Build the week from the seven rows; a bad row gets its own field message."""
        cleaned = super().clean()
        week: list[list[list[int]]] = []
        for day in map(int, Weekday):
            mode = cleaned.get(f"day_{day}_mode")
            text = cleaned.get(f"day_{day}_intervals", "")
            if mode == AROUND_THE_CLOCK:
                week.append([[0, DAY]])
            elif mode == INTERVALS:
                try:
                    pairs = intervals_parse(text)
                except ValidationError as error:
                    self.add_error(f"day_{day}_intervals", error)
                    continue
                if not pairs:
                    self.add_error(
                        f"day_{day}_intervals",
                        _("Enter the working hours, or choose “closed” or “around the clock”."),
                    )
                    continue
                week.append(pairs)
            else:
                week.append([])
        if len(week) == 7:
            try:
                self.instance.week = week_validate(week)
            except ValidationFailed as error:
                self.add_error(None, error.text())
        return cleaned


def _day_initial(pairs) -> tuple[str, str]:
    """Return a stored day's mode and intervals text for the form."""
    if not pairs:
        return CLOSED, ""
    if [list(p) for p in pairs] == [[0, DAY]]:
        return AROUND_THE_CLOCK, ""
    return INTERVALS, intervals_format(pairs)


class ApplyCalendarForm(forms.Form):
    """Choose a year of the bundled production calendar to apply."""

    year = forms.TypedChoiceField(label=_("Year"), coerce=int, choices=())

    def __init__(self, *args, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        years = sorted(int(year) for year in bundled_production_calendar())
        self.fields["year"].choices = [(year, str(year)) for year in years]
        self.fields["year"].initial = today.year if today.year in years else years[-1]
