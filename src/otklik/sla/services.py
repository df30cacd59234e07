"""Change SLA configuration: timetables' weeks and the production calendar; ask for deadlines to be recomputed."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from datetime import date, time, timedelta
from typing import TypeGuard

from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from otklik.core import clock, events
from otklik.core.errors import ValidationFailed
from otklik.sla.calendars import (
    DAY,
    bundled_production_calendar,
    merge,
    production_calendar_exceptions,
)
from otklik.sla.models import (
    CalendarException,
    DeadlineRecompute,
    ExceptionKind,
    RecomputeReason,
    SlaLevel,
    Timetable,
)
from otklik.sla.selectors import week_schedule

Week = Sequence[Sequence[Sequence[int]]]

# The names of the exceptions the production calendar makes, stored in both languages.
PUBLIC_HOLIDAY = gettext_noop("Public holiday")
PUBLIC_HOLIDAYS = gettext_noop("Public holidays")
TRANSFERRED_WORKING_DAY = gettext_noop("Transferred working day")
SHORT_DAY = gettext_noop("Pre-holiday short day")


def _both_languages(message: str) -> dict[str, str]:
    """Return the name fields of `message` translated into Russian and English."""
    names = {}
    for language in ("ru", "en"):
        with translation.override(language):
            names[f"name_{language}"] = _(message)
    return names


def week_validate(week: Week) -> list[list[list[int]]]:
    """Return the week in canonical form (seven merged lists of [start, end]) or raise ValidationFailed."""
    if not isinstance(week, list | tuple) or len(week) != 7:
        raise ValidationFailed(_("A week has seven days."), field="week")
    result = []
    for intervals in week:
        pairs = []
        for pair in intervals:
            try:
                start, end = int(pair[0]), int(pair[1])
            except (TypeError, ValueError, IndexError, KeyError):
                message = _("Give each working interval as [start, end] in seconds.")
                raise ValidationFailed(message, field="week") from None
            # An interval starts within its day and may run into the next one, up to its midnight: merged
            # runs such as 00:00-24:00 plus 22:00-02:00 are stored as one run, and must load back.
            if not (0 <= start < DAY and start < end <= 2 * DAY):
                message = _("A working interval must start within the day and end by the next midnight.")
                raise ValidationFailed(message, field="week")
            pairs.append((start, end))
        result.append([list(p) for p in merge(pairs)])
    return result


@transaction.atomic
def timetable_save_week(timetable: Timetable, week: Week) -> Timetable:
    """Set a timetable's weekly schedule and re-apply its production-calendar years (short days follow it)."""
    timetable.week = week_validate(week)
    timetable.full_clean()
    timetable.save()
    for year in list(timetable.calendar_years):
        timetable_apply_calendar(timetable, year)
    return timetable


def _ranges(days: Iterable[date]) -> list[tuple[date, date]]:
    """Group dates into runs of consecutive days."""
    runs: list[tuple[date, date]] = []
    for day in sorted(days):
        if runs and runs[-1][1] + timedelta(days=1) == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _clock(seconds: int) -> time:
    seconds %= DAY
    return time(seconds // 3600, seconds % 3600 // 60, seconds % 60)


@transaction.atomic
def timetable_apply_calendar(timetable: Timetable, year: int, calendar: dict | None = None) -> int:
    """Turn a year of the production calendar into the timetable's exceptions; return how many.

    Non-working holidays close the day, transferred working weekend days run Monday's schedule, and
    pre-holiday short days lose the last hour of their last interval. Re-applying a year replaces the rows
    it made before, so the command is safe to run again (and runs again when the week changes).
    """
    data = calendar if calendar is not None else bundled_production_calendar()
    if str(year) not in data:
        available = ", ".join(sorted(data))
        raise ValidationFailed(
            _("The production calendar has no data for %(year)s (it has %(years)s).")
            % {"year": year, "years": available},
            field="year",
        )
    origin = f"calendar:{year}"
    CalendarException.objects.filter(timetable=timetable, origin=origin).delete()
    resolved = production_calendar_exceptions(data, week_schedule(timetable), [year])
    rows = [
        CalendarException(
            timetable=timetable,
            origin=origin,
            kind=ExceptionKind.HOLIDAY,
            **_both_languages(PUBLIC_HOLIDAY if first == last else PUBLIC_HOLIDAYS),
            first_day=first,
            last_day=last,
        )
        for first, last in _ranges(resolved.holidays)
    ]
    rows += [
        CalendarException(
            timetable=timetable,
            origin=origin,
            kind=ExceptionKind.AS_WEEKDAY,
            **_both_languages(TRANSFERRED_WORKING_DAY),
            first_day=day,
            last_day=day,
            weekday=weekday,
        )
        for day, weekday in sorted(resolved.as_weekday.items())
    ]
    for day, cuts in sorted(resolved.cuts.items()):
        for start, end in cuts:
            rows.append(
                CalendarException(
                    timetable=timetable,
                    origin=origin,
                    kind=ExceptionKind.HOLIDAY_TIME,
                    **_both_languages(SHORT_DAY),
                    first_day=day + timedelta(days=start // DAY),
                    # A cut of a midnight-crossing interval ends on the next date.
                    last_day=day + timedelta(days=(end - 1) // DAY),
                    start_time=_clock(start),
                    end_time=_clock(end),
                )
            )
    CalendarException.objects.bulk_create(rows)  # sends no signal: ask for the recomputation here
    deadlines_recompute_request(
        sla_ids=sla_ids_using(timetable_ids=[timetable.pk]), reason=RecomputeReason.EXCEPTION
    )
    years = sorted(set(timetable.calendar_years) | {year})
    # save() bumps the revision, so cached calendars see the new exceptions.
    timetable.calendar_years = years
    timetable.save(update_fields=["calendar_years", "revision"])
    return len(rows)


# -- deadlines computed again after a configuration change (F-08) ---------------------------------
_pending = threading.local()


def _still_pending(job: DeadlineRecompute | None, callback) -> TypeGuard[DeadlineRecompute]:
    """Tell whether `callback` still waits for this transaction's commit (not run, not rolled back)."""
    connection = transaction.get_connection()
    if job is None or not connection.in_atomic_block:
        return False
    # Django keeps the callbacks of the open transaction here and empties it on commit or rollback.
    return any(entry[1] is callback for entry in connection.run_on_commit)


def deadlines_recompute_request(*, sla_ids: Iterable[int], reason: str) -> DeadlineRecompute | None:
    """Record that the open tickets of these SLA levels need their deadlines computed again.

    One request per transaction: an admin save that changes a time and the exceptions, or a production
    calendar year that replaces thirty exceptions, makes one job. The job row commits with the change;
    after commit the event tells the tickets layer, which runs the job in the background.
    """
    ids = sorted({int(i) for i in sla_ids if i is not None})
    if not ids:
        return None
    job, callback = getattr(_pending, "state", (None, None))
    if _still_pending(job, callback):
        merged = sorted(set(job.sla_ids) | set(ids))
        if merged != job.sla_ids:
            job.sla_ids = merged
            job.save(update_fields=["sla_ids"])
        return job
    job = DeadlineRecompute.objects.create(reason=reason, sla_ids=ids, created_at=clock.now())
    job_id = job.pk

    def announce() -> None:
        _pending.state = (None, None)
        events.emit(events.SLA_DEADLINES_STALE, job_id)

    _pending.state = (job, announce)
    transaction.on_commit(announce)
    return job


def sla_ids_using(*, timetable_ids: Iterable[int] = (), exception_id: int | None = None) -> list[int]:
    """Return the SLA levels whose working calendar these timetables or this exception shape."""
    from django.db.models import Q

    condition = Q(timetable_id__in=[i for i in timetable_ids if i is not None])
    if exception_id is not None:
        condition |= Q(exceptions=exception_id)
    return sorted(set(SlaLevel.objects.filter(condition).values_list("pk", flat=True)))
