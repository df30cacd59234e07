"""SLA compliance and response times (issue 16): working hours of the ticket's SLA, checked by hand and
against a slow reference that replays the SLA timeline in Python; the job's incremental facts equal a
rebuild from scratch.

The timetable is the regulation's: Mon–Fri 10:00–19:00 Moscow time with the production calendar.
2025-10-31 is a Friday; 2025-11-01 a working Saturday, short (10:00–18:00); 2025-11-02..04 are days off.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from otklik.core import clock
from otklik.reports import sla_times
from otklik.reports.facts import facts_rebuild, facts_refresh
from otklik.reports.models import ResponseFact, SolveFact
from otklik.reports.period import PeriodFilters
from otklik.sla.models import SlaEvent, SlaEventKind, SlaLevel, Timetable
from otklik.sla.selectors import working_calendar
from otklik.sla.services import timetable_apply_calendar
from otklik.tickets import services
from otklik.tickets.models import Ticket
from otklik.tickets.policies import TicketPolicy
from tests.helpers import MSK, msk

WORKDAY = [[36000, 68400]]  # 10:00-19:00
HOUR = 3600
NOVEMBER = PeriodFilters(date(2025, 10, 27), date(2025, 11, 30), "day")


@pytest.fixture
def sla(db, cast):
    table = Timetable.objects.create(code="msk", name="Moscow", week=[WORKDAY] * 5 + [[], []])
    for year in (2025, 2026):
        timetable_apply_calendar(table, year)
    level = SlaLevel.objects.create(
        name="Clients: standard", response_time=6, response_unit="hours", timetable=table, priority=10
    )
    level.groups.add(*cast.client.groups.all())
    return level


def answer(cast, ticket, at, who=None):
    with clock.frozen(at):
        services.message_post(
            actor=who or cast.staff, ticket=ticket, draft=services.MessageDraft(body="On it.")
        )


def new_ticket(cast, make_ticket, at, **kw):
    kw.setdefault("responsible", cast.staff)
    kw.setdefault("actor", cast.staff)
    with clock.frozen(at):
        return make_ticket(author=cast.client, **kw)


@pytest.fixture
def story(cast, make_ticket, sla):
    """A late answer across a weekend and holidays, a quick one with a second cycle, an invisible one."""
    late = new_ticket(cast, make_ticket, msk(2025, 10, 31, 17, 0))
    answer(cast, late, msk(2025, 11, 5, 11, 0))
    quick = new_ticket(cast, make_ticket, msk(2025, 11, 5, 12, 0))
    answer(cast, quick, msk(2025, 11, 5, 13, 30))
    answer(cast, quick, msk(2025, 11, 5, 18, 30), who=cast.client)  # the clock restarts
    answer(cast, quick, msk(2025, 11, 6, 10, 30))
    with clock.frozen(msk(2025, 11, 6, 15, 0)):
        services.ticket_close(actor=cast.staff, ticket=quick)
    hidden = new_ticket(
        cast, make_ticket, msk(2025, 11, 10, 10, 0), responsible=cast.staff2, actor=cast.admin
    )
    answer(cast, hidden, msk(2025, 11, 10, 23, 30), who=cast.staff2)  # 23:30 Moscow: still the 10th
    with clock.frozen(msk(2025, 12, 1, 12, 0)):
        facts_rebuild()
    return {"late": late, "quick": quick, "hidden": hidden}


def test_working_hours_across_a_weekend_and_holidays_by_hand(story):
    late = ResponseFact.objects.get(ticket=story["late"])
    # Fri 17-19 (2 h) + working Sat 1 Nov 10-18 (8 h) + Wed 5 Nov 10-11 (1 h); 2-4 Nov are days off.
    assert late.working_seconds == 11 * HOUR
    assert late.calendar_seconds == int(timedelta(days=4, hours=18).total_seconds())
    assert late.deadline_at == msk(2025, 11, 1, 14, 0) and late.within is False and late.first
    assert late.late_working_seconds == 5 * HOUR  # Sat 14-18 and Wed 10-11
    first, second = ResponseFact.objects.filter(ticket=story["quick"]).order_by("answered_at")
    assert (first.first, first.working_seconds, first.within) == (True, int(1.5 * HOUR), True)
    # The client's reply at 18:30 restarts the clock: 18:30-19:00 and Thu 10:00-10:30.
    assert (second.first, second.working_seconds, second.source_at) == (False, HOUR, msk(2025, 11, 5, 18, 30))
    solved = SolveFact.objects.get(ticket=story["quick"])
    # Wed 12:00-19:00 (7 h) + Thu 10:00-15:00 (5 h).
    assert solved.working_seconds == 12 * HOUR


def reference_compliance(policy: TicketPolicy, start, end) -> dict:
    """Replay every visible ticket's SLA timeline in Python: each answer against the deadline in force."""
    out = {"answered": 0, "within": 0, "breached": 0, "late": 0}
    for ticket in Ticket.objects.select_related("sla__timetable"):
        if not policy.can_view(ticket):
            continue
        running = None
        for step in SlaEvent.objects.filter(ticket=ticket).order_by("pk"):
            if step.kind == SlaEventKind.ANSWERED and running is not None:
                if start <= step.at < end and running.deadline_at is not None:
                    out["answered"] += 1
                    if step.at <= running.deadline_at:
                        out["within"] += 1
                    else:
                        out["breached"] += 1
                        out["late"] += working_calendar(ticket.sla).between(running.deadline_at, step.at)
            if step.source_at is not None:
                running = step
    return out


@pytest.mark.parametrize("who", ["admin", "staff"])
def test_compliance_equals_the_reference_for_each_viewer(story, cast, who):
    policy = TicketPolicy(getattr(cast, who))
    with timezone.override(MSK):
        report = sla_times.compliance(policy, NOVEMBER, "sla")
        start, end = NOVEMBER.bounds()
    expected = reference_compliance(policy, start, end)
    t = report.totals
    assert (t.answered, t.within, t.breached, t.late_working_seconds) == (
        expected["answered"],
        expected["within"],
        expected["breached"],
        expected["late"],
    )
    assert t.answered == (4 if who == "admin" else 3)


def test_compliance_by_period_puts_a_23_30_moscow_answer_on_its_day(story, cast):
    policy = TicketPolicy(cast.admin)
    with timezone.override(MSK):
        tenth = sla_times.compliance(policy, PeriodFilters(date(2025, 11, 10), date(2025, 11, 10)), "period")
        eleventh = sla_times.compliance(
            policy, PeriodFilters(date(2025, 11, 11), date(2025, 11, 11)), "period"
        )
    assert tenth.totals.answered == 1 and eleventh.totals.answered == 0
    assert [r.key for r in tenth.rows] == [date(2025, 11, 10)]


def test_breaches_list_the_late_answer_with_its_working_minutes(story, cast):
    with timezone.override(MSK):
        rows = list(sla_times.breaches(TicketPolicy(cast.staff), NOVEMBER))
    assert [(r.ticket_id, r.late_working_seconds // 60) for r in rows] == [(story["late"].pk, 300)]


def _median(values):
    values = sorted(values)
    position = 0.5 * (len(values) - 1)
    lo = int(position)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (position - lo)


def test_response_times_median_p90_mean_match_a_python_reference(cast, make_ticket, sla):
    # Seven first answers 1..7 working hours after creation on Monday 10 Nov 2025 10:00.
    tickets = []
    for hours in range(1, 8):
        ticket = new_ticket(cast, make_ticket, msk(2025, 11, 10, 10, 0))
        answer(cast, ticket, msk(2025, 11, 10, 10, 0) + timedelta(hours=hours))
        tickets.append(ticket)
    with clock.frozen(msk(2025, 12, 1, 12, 0)):
        facts_refresh()
    with timezone.override(MSK):
        times = sla_times.response_times(TicketPolicy(cast.admin), NOVEMBER, "sla")
    seconds = [h * HOUR for h in range(1, 8)]
    stats = times.totals.first_response
    assert stats.count == 7 and stats.mean == pytest.approx(4 * HOUR)
    assert stats.median == pytest.approx(_median(seconds))
    assert stats.p90 == pytest.approx(seconds[5] + (seconds[6] - seconds[5]) * 0.4)
    assert [r.first_response.count for r in times.rows] == [7]
    assert [day for day, mean, _m in times.series if mean is not None] == [date(2025, 11, 10)]


def test_the_job_reading_forward_gives_the_rows_a_rebuild_gives(cast, make_ticket, sla):
    """Refresh after each step of a busy week, then rebuild: the same rows (the facts are exact)."""
    moments = [msk(2025, 11, 10, 10, 0) + timedelta(hours=5 * i) for i in range(12)]
    tickets = []
    for i, at in enumerate(moments):
        tickets.append(new_ticket(cast, make_ticket, at))
        if i % 2:
            answer(cast, tickets[i - 1], at + timedelta(minutes=30))
        if i % 3 == 2:
            with clock.frozen(at + timedelta(hours=1)):
                services.ticket_close(actor=cast.staff, ticket=tickets[i - 2])
        if i == 7:
            with clock.frozen(at + timedelta(hours=2)):
                services.ticket_reopen(actor=cast.staff, ticket=tickets[2])
            answer(cast, tickets[2], at + timedelta(hours=3))
            with clock.frozen(at + timedelta(hours=4)):
                services.ticket_close(actor=cast.staff, ticket=tickets[2])
        with clock.frozen(at + timedelta(hours=4, minutes=30)):
            facts_refresh()

    def snapshot():
        responses = set(
            ResponseFact.objects.values_list(
                "event_id", "ticket_id", "first", "source_at", "deadline_at", "working_seconds", "within"
            )
        )
        solved = set(SolveFact.objects.values_list("ticket_id", "closed_at", "working_seconds"))
        return responses, solved

    incremental = snapshot()
    assert len(incremental[0]) >= 6 and len(incremental[1]) >= 3
    with clock.frozen(moments[-1] + timedelta(days=1)):
        facts_rebuild()
    assert snapshot() == incremental
    # The reopened ticket's row follows its last closing.
    assert (
        SolveFact.objects.get(ticket=tickets[2]).closed_at == Ticket.objects.get(pk=tickets[2].pk).closed_at
    )


@pytest.mark.parametrize("report", ["compliance", "times"])
def test_query_count_does_not_grow_with_the_data(cast, make_ticket, sla, report):
    def count() -> int:
        with clock.frozen(msk(2025, 12, 1, 12, 0)):
            facts_refresh()
        policy = TicketPolicy(cast.staff)
        with CaptureQueriesContext(connection) as queries, timezone.override(MSK):
            if report == "compliance":
                sla_times.compliance(policy, NOVEMBER, "responsible")
                list(sla_times.breaches(policy, NOVEMBER)[:50])
            else:
                sla_times.response_times(policy, NOVEMBER, "category")
        return len(queries)

    def add(n: int, day: int) -> None:
        for i in range(n):
            ticket = new_ticket(cast, make_ticket, msk(2025, 11, day, 10, 0))
            answer(cast, ticket, msk(2025, 11, day + 7, 10, 0) if i % 2 else msk(2025, 11, day, 11, 0))

    add(2, 10)
    small = count()
    add(6, 11)
    assert count() == small
