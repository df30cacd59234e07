"""The load report (F-25 graphs, issue 16): every number against a slow reference that replays each ticket's
history in Python, on a month of tickets written through the services with the clock frozen in Moscow."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections import Counter
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from otklik.accounts.models import Profile, SupportGroup
from otklik.accounts.services import support_group_add_member
from otklik.core import clock
from otklik.dictionaries.models import DictionaryEntry, DictionaryKind
from otklik.reports import load as selectors
from otklik.reports.period import PeriodFilters, bucket_start, bucket_starts
from otklik.sla.models import SlaEvent, SlaEventKind, SlaLevel
from otklik.tickets import services
from otklik.tickets.loglines import YES, in_both_languages
from otklik.tickets.models import CLIENT_VISIBLE_KINDS, ModuleOptions, Ticket, TicketEvent
from otklik.tickets.policies import TicketPolicy
from otklik.tickets.services.sla_tick import sla_tick
from tests.conftest import logged_in
from tests.helpers import MSK, fresh, msk
from tests.reports.charts import main_part

MARCH = PeriodFilters(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
GRAINS = ("day", "week", "month")


def mar(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return msk(2026, 3, day, hour, minute)


@pytest.fixture
def sla(cast):
    """Two hours around the clock for the client's tickets: an unanswered ticket goes overdue at a tick."""
    level = SlaLevel.objects.create(
        name="Fast", response_time=2, response_unit="hours", priority=10, code="fast"
    )
    level.groups.add(*cast.client.groups.all())
    return level


@pytest.fixture
def month(cast, make_ticket, sla):
    """A month of history, in time order: closings, reopenings (by people, by a client's message, by the
    SLA job's auto-close), messages and overdue deadlines, some at 23:30 or 00:30 Moscow time, some before
    and after March; tickets of staff2 that `staff` cannot see; marks on some closed tickets."""
    ModuleOptions.objects.update_or_create(pk=1, defaults={"auto_close_days": 2})
    # The seeded marks (good, incomplete, bad) and one without a symbolic code.
    good = DictionaryEntry.objects.get(kind=DictionaryKind.MARK, code="good")
    bad = DictionaryEntry.objects.get(kind=DictionaryKind.MARK, code="bad")
    DictionaryEntry.objects.create(
        kind=DictionaryKind.MARK, code="", name_ru="Так себе", name_en="So-so", sort=900
    )
    t: dict[str, Ticket] = {}

    def new(name: str, at: dt.datetime, **kw) -> None:
        with clock.frozen(at):
            t[name] = make_ticket(title=name, **kw)

    def staff_of(name: str) -> object:
        return cast.admin if fresh(t[name]).responsible_id == cast.staff2.pk else cast.staff

    def close(name: str, at: dt.datetime) -> None:
        with clock.frozen(at):
            services.ticket_close(actor=staff_of(name), ticket=fresh(t[name]))

    def reopen(name: str, at: dt.datetime, by: object = None) -> None:
        with clock.frozen(at):
            services.ticket_reopen(actor=by or cast.admin, ticket=fresh(t[name]))

    def say(name: str, at: dt.datetime, *, support: bool = True, hidden: bool = False) -> None:
        actor = staff_of(name) if support else cast.client
        with clock.frozen(at):
            draft = services.MessageDraft(body="Checking.", hidden=hidden)
            services.message_post(actor=actor, ticket=fresh(t[name]), draft=draft)

    def mark(name: str, entry: DictionaryEntry) -> None:
        with clock.frozen(msk(2026, 4, 4, 12, 0)):
            services.ticket_update(actor=cast.client, ticket=fresh(t[name]), changes={"mark": entry.pk})

    hidden_from_staff = {"author": cast.client, "responsible": cast.staff2, "actor": cast.admin}
    new("A", msk(2026, 2, 20, 10, 0))
    sla_tick(msk(2026, 2, 25, 12, 0))  # A overdue in February: outside the period
    close("A", mar(5, 10))
    reopen("A", mar(6, 12), by=cast.client)
    close("A", mar(6, 15))  # closed twice: two closings, one solved ticket
    new("B", mar(2, 9))
    with clock.frozen(mar(2, 9, 30)):  # never closed by the SLA job: closed by hand at 23:30
        services.ticket_update(actor=cast.staff, ticket=fresh(t["B"]), changes={"auto_close_days": 0})
    say("B", mar(2, 10))
    say("B", mar(2, 10, 5), hidden=True)  # not a public message
    new("E", mar(3, 8), **hidden_from_staff)
    close("E", mar(4, 11))
    new("X", mar(9, 21))
    sla_tick(mar(9, 23, 30))  # X overdue at 23:30 Moscow (20:30 UTC): the 9th
    close("B", mar(10, 23, 30))  # closed at 23:30 Moscow: the 10th
    new("C", mar(10, 23, 30))  # created at 23:30 Moscow: the 10th
    new("D", mar(11, 0, 30))  # created at 00:30 Moscow (21:30 UTC on the 10th): the 11th
    say("C", mar(11, 0, 30), support=False)
    sla_tick(mar(11, 2))  # C overdue (deadline 01:30), D not yet (02:30)
    new("G", mar(12, 10))
    say("G", mar(12, 10, 30))
    close("G", mar(13, 12))
    new("M", mar(13, 9), **hidden_from_staff)
    close("M", mar(14, 18))
    new("H", mar(15, 10))
    say("H", mar(15, 11))
    sla_tick(mar(17, 11, 1))  # H auto-closed after two silent days; D overdue now
    new("I", mar(18, 10))
    say("I", mar(18, 11))
    say("I", mar(18, 12), support=False)
    close("I", mar(18, 15))  # under a day, three messages
    new("J", mar(19, 10))
    reopen("E", mar(20, 9))  # reopened, still open: not solved
    new("K", mar(21, 10))
    close("K", mar(22, 10))  # exactly one day: "1–2 days"
    new("L", mar(23, 10))
    for i in range(5):
        say("L", mar(23, 11 + i))
        say("L", mar(23, 11 + i, 30), support=False)
    close("L", mar(23, 18))  # 11 messages
    new("F", mar(25, 10))
    close("J", mar(26, 10))  # exactly seven days: "7 days or more"
    close("X", mar(31, 23, 59))
    reopen("X", msk(2026, 4, 1, 9), by=cast.client)  # the client reopens it after the period
    close("F", msk(2026, 4, 2, 10))  # closed after the period
    reopen("G", msk(2026, 4, 3, 10))  # reopened after the period: closed at the end of March
    new("N", msk(2026, 4, 3, 11))  # created after the period
    # Only tickets support answered can be rated (issue 17): A never got an answer, H did.
    mark("H", good)
    mark("B", good)
    mark("L", bad)
    return t


# -- The slow reference: walk every ticket, replay its closings ----------------------------------------


def _in_scope(policy: TicketPolicy, filters: PeriodFilters) -> list[Ticket]:
    group = set()
    if filters.group is not None:
        group = {u.pk for u in SupportGroup.objects.get(pk=filters.group).members.all()}
    return [
        t
        for t in Ticket.objects.order_by("pk")
        if policy.can_view(t)
        and (filters.sla is None or t.sla_id == filters.sla)
        and (filters.group is None or t.responsible_id in group)
    ]


def _bucket(instant: dt.datetime, filters: PeriodFilters, tz: dt.tzinfo = MSK) -> dt.date | None:
    """Return the bucket an instant falls in, or None outside the period (days in `tz`, Moscow's)."""
    day = instant.astimezone(tz).date()
    if not filters.date_from <= day <= filters.date_to:
        return None
    return bucket_start(day, filters.grain)


def _is_closing(event: TicketEvent) -> bool:
    return event.new in in_both_languages(YES).values()


def _open_at(ticket: Ticket, instant: dt.datetime) -> bool:
    """Replay the ticket's history up to `instant`: created before it, and not closed by its last move."""
    if ticket.created_at >= instant:
        return False
    moves = [e for e in ticket.events.filter(field="closed").order_by("at", "id") if e.at < instant]
    return not moves or not _is_closing(moves[-1])


def _bucket_end(day: dt.date, filters: PeriodFilters, tz: dt.tzinfo = MSK) -> dt.datetime:
    starts = bucket_starts(filters)
    index = starts.index(day)
    end_day = starts[index + 1] if index + 1 < len(starts) else filters.date_to + dt.timedelta(days=1)
    end_day = min(end_day, filters.date_to + dt.timedelta(days=1))
    return dt.datetime.combine(end_day, dt.time.min, tzinfo=tz)


def reference_load(
    policy: TicketPolicy, filters: PeriodFilters, tz: dt.tzinfo = MSK
) -> list[selectors.LoadBucket]:
    tickets = _in_scope(policy, filters)
    counts: dict[dt.date, Counter] = {day: Counter() for day in bucket_starts(filters)}

    def add(instant: dt.datetime, name: str) -> None:
        day = _bucket(instant, filters, tz)
        if day is not None:
            counts[day][name] += 1

    for ticket in tickets:
        add(ticket.created_at, "created")
        moves = list(ticket.events.filter(field="closed").order_by("at", "id"))
        # The replay ends where the ticket is now: a check on the reference itself.
        assert (ticket.closed_at is not None) == bool(moves and _is_closing(moves[-1]))
        for event in moves:
            add(event.at, "closed" if _is_closing(event) else "reopened")
        for message in ticket.messages.all():
            if message.kind in CLIENT_VISIBLE_KINDS:
                add(message.created_at, "messages")
        for step in SlaEvent.objects.filter(ticket=ticket, kind=SlaEventKind.OVERDUE):
            add(step.at, "overdue")
    return [
        selectors.LoadBucket(
            start=day,
            open_at_end=sum(_open_at(t, _bucket_end(day, filters, tz)) for t in tickets),
            **counts[day],
        )
        for day in bucket_starts(filters)
    ]


def _solve_time_key(ticket: Ticket) -> str:
    days = (ticket.closed_at - ticket.created_at) / dt.timedelta(days=1)
    return selectors.SOLVE_TIME_KEYS[min(int(days), 7)]


def _solve_messages_key(ticket: Ticket) -> str:
    n = ticket.messages.filter(kind__in=CLIENT_VISIBLE_KINDS).count()
    assert n == ticket.message_count
    return "le2" if n <= 2 else "ge10" if n >= 10 else str(n)


def _mark_key(ticket: Ticket) -> str | None:
    return None if ticket.mark is None else (ticket.mark.code or str(ticket.mark.pk))


def reference_distribution(
    policy: TicketPolicy,
    filters: PeriodFilters,
    key: Callable[[Ticket], str | None],
    tz: dt.tzinfo = MSK,
) -> dict[tuple[dt.date, str | None], int]:
    """Count the tickets whose closing falls in the period per (bucket, class)."""
    out: Counter = Counter()
    for ticket in _in_scope(policy, filters):
        if ticket.closed_at is None:
            continue
        day = _bucket(ticket.closed_at, filters, tz)
        if day is not None:
            out[(day, key(ticket))] += 1
    return dict(out)


def computed(result: selectors.Distribution) -> dict[tuple[dt.date, str | None], int]:
    keys = [row.key for row in result.rows]
    return {(day, k): n for day, counts in result.buckets for k, n in zip(keys, counts, strict=True) if n}


DISTRIBUTIONS = {
    "solve_time": (selectors.solve_time, _solve_time_key),
    "solve_messages": (selectors.solve_messages, _solve_messages_key),
    "marks": (selectors.marks, _mark_key),
}


# -- Tests --------------------------------------------------------------------------------------------


def test_every_number_equals_the_slow_reference(month, cast, sla):
    team = SupportGroup.objects.create(name="Line 2", kind=SupportGroup.Kind.STAFF)
    support_group_add_member(group=team, user=cast.staff2)
    variants = [PeriodFilters(MARCH.date_from, MARCH.date_to, grain) for grain in GRAINS]
    # A period starting mid-week and mid-month, and the filters.
    variants += [PeriodFilters(dt.date(2026, 3, 4), dt.date(2026, 3, 18), g) for g in ("week", "month")]
    variants += [PeriodFilters(MARCH.date_from, MARCH.date_to, "week", sla=sla.pk)]
    variants += [PeriodFilters(MARCH.date_from, MARCH.date_to, "day", group=team.pk)]
    for who in ("admin", "staff", "demo"):
        policy = TicketPolicy(getattr(cast, who))
        for filters in variants:
            assert selectors.load(policy, filters, tz=MSK).buckets == reference_load(policy, filters), (
                who,
                filters,
            )
            for name, (selector, key) in DISTRIBUTIONS.items():
                result = selector(policy, filters, tz=MSK)
                assert computed(result) == reference_distribution(policy, filters, key), (name, who, filters)
                assert [r.count for r in result.rows] == [
                    sum(counts[i] for _d, counts in result.buckets) for i in range(len(result.rows))
                ]


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/Sao_Paulo", "Asia/Kathmandu"])
def test_other_time_zones_equal_the_slow_reference(month, cast, zone):
    """Buckets start at the viewer's midnights, computed in Python for PostgreSQL's search: a zone behind
    UTC, one at +5:45, one whose clocks go forward on March 29 (the day is 23 hours long)."""
    tz = ZoneInfo(zone)
    variants = [PeriodFilters(dt.date(2026, 3, 2), dt.date(2026, 3, 31), g) for g in GRAINS]
    for who in ("admin", "staff"):
        policy = TicketPolicy(getattr(cast, who))
        for filters in variants:
            assert selectors.load(policy, filters, tz=tz).buckets == reference_load(policy, filters, tz), (
                who,
                zone,
                filters,
            )
            for name, (selector, key) in DISTRIBUTIONS.items():
                result = selector(policy, filters, tz=tz)
                assert computed(result) == reference_distribution(policy, filters, key, tz), (name, who, zone)


def test_load_by_hand_around_the_moscow_midnight(month, cast):
    days = {b.start: b for b in selectors.load(TicketPolicy(cast.admin), MARCH, tz=MSK).buckets}
    tenth, eleventh, ninth = days[dt.date(2026, 3, 10)], days[dt.date(2026, 3, 11)], days[dt.date(2026, 3, 9)]
    assert (tenth.created, tenth.closed) == (1, 1)  # C created and B closed at 23:30 on the 10th
    assert (eleventh.created, eleventh.closed, eleventh.messages) == (1, 0, 2)  # D; D's and C's messages
    assert ninth.overdue == 1 and eleventh.overdue == 1  # X at 23:30 on the 9th, C at 02:00 on the 11th
    # Open at the end of the 10th: A closed, B closed at 23:30; X and C open (E was closed on the 4th).
    assert tenth.open_at_end == 2
    assert eleventh.open_at_end == tenth.open_at_end + 1
    assert days[dt.date(2026, 3, 6)].closed == 1 and days[dt.date(2026, 3, 6)].reopened == 1
    assert days[dt.date(2026, 3, 17)].closed == 1  # H auto-closed by the SLA job
    # The last day: G closed (reopened only in April), F open (closed in April), X closed at 23:59.
    last = days[dt.date(2026, 3, 31)]
    assert last.closed == 1
    open_at_end = {"C", "D", "E", "F"}
    assert last.open_at_end == len(open_at_end)
    staff = selectors.load(TicketPolicy(cast.staff), MARCH, tz=MSK).buckets
    assert staff[-1].open_at_end == len(open_at_end - {"E"})  # E is staff2's
    assert sum(b.created for b in staff) == sum(b.created for b in days.values()) - 2  # nor is M


def test_distributions_by_hand(month, cast):
    policy = TicketPolicy(cast.admin)
    # Closed in March and still closed (G and X were reopened in April).
    solved = "A B H I K L M J".split()
    by_time = {r.key: r.count for r in selectors.solve_time(policy, MARCH, tz=MSK).rows}
    # I (5 hours), L (8) | K (exactly 1 day), M (1 day 9 hours) | H (2 days 1 minute) | A (14), B (8.6), J (7)
    assert by_time == {
        "lt1": 2, "1-2": 2, "2-3": 1, "3-4": 0, "4-5": 0, "5-6": 0, "6-7": 0, "gt7": 3,
    }  # fmt: skip
    assert sum(by_time.values()) == len(solved)
    by_messages = {r.key: r.count for r in selectors.solve_messages(policy, MARCH, tz=MSK).rows}
    # Six with one or two messages; I with three; L with eleven.
    assert by_messages == {
        "le2": 6, "3": 1, "4": 0, "5": 0, "6": 0, "7": 0, "8": 0, "9": 0, "ge10": 1,
    }  # fmt: skip
    with translation.override("ru"):  # an earlier test in the process may have left another one active
        marks = selectors.marks(policy, MARCH, tz=MSK).rows
    assert [(r.key, r.count) for r in marks][:3] == [("good", 2), ("incomplete", 0), ("bad", 1)]
    # No code: keyed by its id; named in the active language (Russian here).
    assert marks[3].key.isdigit() and marks[3].name == "Так себе"
    assert marks[-1].key is None and marks[-1].count == len(solved) - 3
    assert len(marks) == 5


def test_week_and_month_buckets_sum_the_days(month, cast):
    policy = TicketPolicy(cast.admin)
    days = selectors.load(policy, MARCH, tz=MSK).buckets
    for grain in ("week", "month"):
        filters = PeriodFilters(MARCH.date_from, MARCH.date_to, grain)
        for bucket in selectors.load(policy, filters, tz=MSK).buckets:
            inside = [d for d in days if bucket_start(d.start, grain) == bucket.start]
            for name in ("created", "closed", "reopened", "messages", "overdue"):
                assert getattr(bucket, name) == sum(getattr(d, name) for d in inside)
            assert bucket.open_at_end == inside[-1].open_at_end
    weeks = selectors.load(policy, PeriodFilters(MARCH.date_from, MARCH.date_to, "week"), tz=MSK)
    assert weeks.buckets[0].start == dt.date(2026, 2, 23)  # the Monday of the week of March 1st


def test_api_serves_the_same_numbers_in_the_callers_time_zone(month, cast):
    client = logged_in(cast.admin)
    params = {"date_from": "2026-03-01", "date_to": "2026-03-31", "grain": "week"}
    body = client.get("/api/v1/reports/load", params).json()
    filters = PeriodFilters(MARCH.date_from, MARCH.date_to, "week")
    expected = selectors.load(TicketPolicy(cast.admin), filters, tz=MSK)
    assert body["grain"] == "week"
    assert body["buckets"] == [{"start": b.start.isoformat(), **b.counts()} for b in expected.buckets]
    for path, (selector, _key) in {
        "solve-time": DISTRIBUTIONS["solve_time"],
        "solve-messages": DISTRIBUTIONS["solve_messages"],
        "marks": DISTRIBUTIONS["marks"],
    }.items():
        body = client.get(f"/api/v1/reports/{path}", params).json()
        result = selector(TicketPolicy(cast.admin), filters, tz=MSK)
        assert body["rows"] == [{"key": r.key, "name": r.name, "count": r.count} for r in result.rows]
        assert body["buckets"] == [{"start": d.isoformat(), "counts": c} for d, c in result.buckets]
    names = {r["key"]: r["name"] for r in client.get("/api/v1/reports/marks", params).json()["rows"]}
    assert names["good"] == "The answer is satisfactory"
    names = {
        r["key"]: r["name"]
        for r in logged_in(cast.admin, "ru").get("/api/v1/reports/marks", params).json()["rows"]
    }
    assert names["good"] == "Ответ устраивает"
    # In UTC, D (00:30 Moscow on the 11th, 21:30 UTC) was created on the 10th, with C.
    Profile.objects.filter(user=cast.admin).update(time_zone="UTC")
    days = {"date_from": "2026-03-10", "date_to": "2026-03-11"}
    body = client.get("/api/v1/reports/load", days).json()
    assert [b["created"] for b in body["buckets"]] == [2, 0]
    page = client.get(reverse("reports:load"), {**days, "format": "csv"}).content.decode("utf-8-sig")
    assert [row[1] for row in csv.reader(io.StringIO(page))][1:] == ["2", "0"]
    staff = logged_in(cast.staff).get("/api/v1/reports/load", params).json()
    assert sum(b["created"] for b in staff["buckets"]) < sum(b.created for b in expected.buckets)


def test_page_draws_four_charts_with_tables_in_both_languages(month, cast):
    params = {"date_from": "2026-03-01", "date_to": "2026-03-31"}
    for language, words in (("en", ["9 Mar", "So-so", "Time to solve"]), ("ru", ["9 Мар", "Так себе"])):
        page = logged_in(cast.admin, language).get(reverse("reports:load"), params)
        assert page.status_code == 200
        html = page.content.decode()
        assert main_part(html).count("<svg") == 4 and main_part(html).count('role="img"') == 4
        # Each chart describes itself once; no per-point tooltip data (pygal's JavaScript never runs).
        assert html.count("<desc") == 4
        assert main_part(html).count("<table") == 4
        for word in words:
            assert word in html, (language, word)
        assert f'lang="{language}"' in html
        assert "table=marks&amp;format=xlsx" in html
    nav = logged_in(cast.staff).get(reverse("reports:desk")).content.decode()
    assert reverse("reports:load") in nav


def test_exports_each_table_as_csv_and_xlsx(month, cast):
    client = logged_in(cast.admin)
    url = reverse("reports:load")
    params = {"date_from": "2026-03-09", "date_to": "2026-03-11", "format": "csv"}
    response = client.get(url, params)
    assert response["Content-Type"].startswith("text/csv")
    assert "load-2026-03-09-2026-03-11.csv" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["Day", "Created", "Open at the end", "Closed", "Reopened", "Messages", "Overdue"]
    expected = selectors.load(
        TicketPolicy(cast.admin), PeriodFilters(dt.date(2026, 3, 9), dt.date(2026, 3, 11)), tz=MSK
    )
    assert rows[1:] == [
        [
            b.start.isoformat(),
            *(
                str(b.counts()[n])
                for n in ("created", "open_at_end", "closed", "reopened", "messages", "overdue")
            ),
        ]
        for b in expected.buckets
    ]
    assert client.get(url, {**params, "table": "nonsense"}).content == response.content  # unknown: the load
    response = client.get(url, {**params, "date_to": "2026-03-31", "table": "solve_time"})
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:2] == ["Day", "Less than 1 day"] and rows[0][-1] == "Total"
    march = PeriodFilters(dt.date(2026, 3, 9), MARCH.date_to)
    solved = selectors.solve_time(TicketPolicy(cast.admin), march, tz=MSK)
    assert solved.total == 7  # B H I K L M J
    assert rows[-1] == ["Total", *(str(r.count) for r in solved.rows), "7"]
    assert len(rows) == 2 + 23
    response = client.get(url, {**params, "date_to": "2026-03-31", "table": "marks", "format": "xlsx"})
    assert "marks-2026-03-09-2026-03-31.xlsx" in response["Content-Disposition"]
    book = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    sheet = book.read("xl/worksheets/sheet1.xml").decode()
    assert "So-so" in sheet and "No mark" in sheet and "2026-03-23" in sheet


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_query_count_does_not_grow_with_the_data(cast, make_ticket):
    client = logged_in(cast.staff)
    query = "?date_from=2026-03-01&date_to=2026-03-31"
    urls = [reverse("reports:load") + query, reverse("reports:load") + query + "&format=csv"]
    urls += [f"/api/v1/reports/{name}{query}" for name in ("load", "solve-time", "solve-messages", "marks")]

    def tickets(day: int, count: int) -> None:
        for i in range(count):
            with clock.frozen(mar(day, 10 + i)):
                ticket = make_ticket(actor=cast.staff, author=cast.client, responsible=cast.staff)
            with clock.frozen(mar(day + 1, 10 + i)):
                services.ticket_close(actor=cast.staff, ticket=ticket)

    tickets(3, 1)
    small = [_queries(client, url) for url in urls]
    tickets(10, 6)
    assert [_queries(client, url) for url in urls] == small


@pytest.mark.parametrize(
    "params",
    [
        {"date_from": "2026-13-01"},
        {"date_from": "2026-03-10", "date_to": "2026-03-01"},
        {"grain": "year"},
        {"date_from": "2020-01-01", "date_to": "2026-01-01", "grain": "day"},
        {"date_from": "0001-01-01", "date_to": "0001-01-02"},  # midnights that fit no datetime
        {"date_from": "9999-12-01", "date_to": "9999-12-31", "grain": "month"},
        {"date_to": "0001-01-01"},
        {"sla": "x"},
        {"group": "-1"},
    ],
)
def test_bad_input_shows_the_message_on_the_page_and_is_422_in_the_api(cast, params):
    client = logged_in(cast.admin)
    page = client.get(reverse("reports:load"), params)
    assert page.status_code == 200
    assert 'class="errorlist"' in page.content.decode()
    assert page.context["filters"] == PeriodFilters.default()
    response = client.get("/api/v1/reports/load", params)
    assert response.status_code == 422
    assert response.json()["detail"]


def test_clients_and_strangers_are_refused(cast):
    for path in ("load", "solve-time", "solve-messages", "marks"):
        assert logged_in(cast.client).get(f"/api/v1/reports/{path}").status_code == 403
    assert logged_in(cast.client).get(reverse("reports:load")).status_code == 403
    assert logged_in(cast.demo).get("/api/v1/reports/load").status_code == 200
    from django.test import Client

    assert Client().get("/api/v1/reports/load").status_code == 401
    assert Client().get(reverse("reports:load")).status_code == 302


def test_openapi_documents_the_endpoints(cast):
    schema = logged_in(cast.admin).get("/api/v1/openapi.json").json()
    for path in ("load", "solve-time", "solve-messages", "marks"):
        operation = schema["paths"][f"/api/v1/reports/{path}"]["get"]
        assert {"200", "403", "422"} <= set(operation["responses"])
        assert {p["name"] for p in operation["parameters"]} == {
            "date_from",
            "date_to",
            "grain",
            "sla",
            "group",
        }
