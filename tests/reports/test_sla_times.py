"""SLA compliance and response times (issue 16): working hours of the ticket's SLA, checked by hand and
against a slow reference that replays the SLA timeline in Python; the job's incremental facts equal a
rebuild from scratch.

The timetable is the regulation's: Mon–Fri 10:00–19:00 Moscow time with the production calendar.
2025-10-31 is a Friday; 2025-11-01 a working Saturday, short (10:00–18:00); 2025-11-02..04 are days off.
"""

from __future__ import annotations

import csv
import io
import zipfile
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
from tests.conftest import logged_in
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


def add_answered(cast, make_ticket, n: int, day: int) -> None:
    """Add n tickets created on a November day, half answered late (a week later), half within the hour."""
    for i in range(n):
        ticket = new_ticket(cast, make_ticket, msk(2025, 11, day, 10, 0))
        answer(cast, ticket, msk(2025, 11, day + 7, 10, 0) if i % 2 else msk(2025, 11, day, 11, 0))


def assert_constant(count, add) -> None:
    """Count the statements with 2 tickets, then with 8 on another day: the same number."""
    add(2, 10)
    small = count()
    add(6, 11)
    assert count() == small


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

    assert_constant(count, lambda n, day: add_answered(cast, make_ticket, n, day))


# --- the pages ------------------------------------------------------------------------------------------

PAGE_QUERY = {"date_from": "2025-10-27", "date_to": "2025-11-30"}


@pytest.mark.parametrize("language", ["en", "ru"])
def test_sla_page_shows_the_share_the_chart_and_the_breach(story, cast, language):
    client = logged_in(cast.staff, language)
    page = client.get("/reports/sla/", PAGE_QUERY)
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html and 'role="img"' in html
    assert f"/staff/tickets/{story['late'].pk}/" in html  # the breach links its ticket
    assert "5 h 00 min" in html or "5 ч 00 мин" in html
    assert "66.7 %" in html or "66,7 %" in html  # 2 of the 3 answers this staff member may see
    assert f"/staff/tickets/{story['hidden'].pk}/" not in html


@pytest.mark.parametrize("by", ["sla", "responsible", "category", "period"])
def test_sla_exports_carry_the_pages_numbers(story, cast, by):
    client = logged_in(cast.admin)
    body = client.get("/reports/sla/", {**PAGE_QUERY, "by": by, "format": "csv"}).content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[-1][:4] == ["Total", "4", "2", "2"]  # the hidden ticket's answer came late too
    xlsx = client.get("/reports/sla/", {**PAGE_QUERY, "by": by, "format": "xlsx"})
    assert zipfile.is_zipfile(io.BytesIO(b"".join(xlsx.streaming_content)))
    breaches = client.get("/reports/sla/", {**PAGE_QUERY, "format": "csv", "table": "breaches"})
    lines = list(csv.reader(io.StringIO(breaches.content.decode("utf-8-sig"))))
    late = {line[0]: line[-1] for line in lines[1:]}
    assert late[str(story["late"].pk)] == "300" and len(late) == 2
    # Mon 10 Nov: deadline 16:00, answered 23:30; late 16:00-19:00 only (the evening is not working time).
    assert late[str(story["hidden"].pk)] == "180"


@pytest.mark.parametrize("url", ["/reports/sla/", "/reports/response-times/"])
def test_sla_pages_refuse_clients_and_survive_bad_filters(story, cast, url):
    assert logged_in(cast.client).get(url).status_code == 403
    client = logged_in(cast.staff)
    for bad in (
        {"date_from": "2025-11-30", "date_to": "2025-11-01"},
        {"date_from": "yesterday", "grain": "hour", "by": "nobody", "page": "x"},
        {"date_from": "2000-01-01", "date_to": "2025-11-30", "grain": "day"},
        {"sla": "99999999999999999999", "group": "-1"},
    ):
        page = client.get(url, bad)
        assert page.status_code == 200
    assert (
        "before its start"
        in client.get(url, {"date_from": "2025-11-30", "date_to": "2025-11-01"}).content.decode()
    )
    assert (
        "too long" in client.get(url, {"date_from": "2000-01-01", "date_to": "2025-11-30"}).content.decode()
    )


def test_response_times_page_draws_the_target_line_and_the_hours(story, cast):
    client = logged_in(cast.admin)
    html = client.get("/reports/response-times/", PAGE_QUERY).content.decode()
    assert "Target: about 4 h" in html
    assert "First response, working hours" in html and "Resolution, working hours" in html
    rows = list(
        csv.reader(
            io.StringIO(
                client.get("/reports/response-times/", {**PAGE_QUERY, "format": "csv"}).content.decode(
                    "utf-8-sig"
                )
            )
        )
    )
    total = rows[-1]
    assert total[0] == "Total" and total[1] == "3"  # three first answers (late, quick, hidden)


@pytest.mark.parametrize("url", ["/reports/sla/", "/reports/response-times/"])
def test_sla_pages_query_count_is_constant(cast, make_ticket, sla, url):
    client = logged_in(cast.staff)

    def count() -> int:
        with clock.frozen(msk(2025, 12, 1, 12, 0)):
            facts_refresh()
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url, {**PAGE_QUERY, "by": "responsible"}).status_code == 200
        return len(queries)

    assert_constant(count, lambda n, day: add_answered(cast, make_ticket, n, day))


def test_api_serves_compliance_and_times_as_documented(story, cast):
    client = logged_in(cast.staff)
    body = client.get("/api/v1/reports/sla-compliance", {**PAGE_QUERY, "by": "sla"}).json()
    assert body["totals"] | {"name": None} == {
        "key": None,
        "name": None,
        "answered": 3,
        "within": 2,
        "breached": 1,
        "share": pytest.approx(2 / 3),
        "late_working_minutes": 300,
    }
    by_day = client.get("/api/v1/reports/sla-compliance", {**PAGE_QUERY, "by": "period"}).json()
    assert sum(r["answered"] for r in by_day["rows"]) == 3 and by_day["rows"][0]["key"] == "2025-11-05"
    times = client.get("/api/v1/reports/response-times", PAGE_QUERY).json()
    assert times["target_hours"] == 4
    first = times["totals"]["first_response"]
    assert first["count"] == 2 and first["mean_hours"] == pytest.approx((11 + 1.5) / 2)
    assert times["totals"]["resolution"]["count"] == 1
    assert logged_in(cast.client).get("/api/v1/reports/sla-compliance").status_code == 403
    bad = client.get("/api/v1/reports/response-times", {"date_from": "2025-11-30", "date_to": "2025-11-01"})
    assert bad.status_code == 422 and "date_to" in bad.json()["errors"]
    assert client.get("/api/v1/reports/sla-compliance", {"by": "mood"}).status_code == 422
    schema = client.get("/api/v1/openapi.json").json()
    assert {"/api/v1/reports/sla-compliance", "/api/v1/reports/response-times"} <= set(schema["paths"])
