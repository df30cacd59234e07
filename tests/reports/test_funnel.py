"""The three-tier funnel (F-25, F-30, issue 16): every number against a slow reference that walks the tickets
and their moves in Python, with the tier each move left the ticket in as the engine itself set it."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from otklik.core import clock
from otklik.reports import funnel as selectors
from otklik.reports.facts import facts_rebuild, facts_refresh
from otklik.reports.models import FactsProgress, FunnelFact
from otklik.reports.period import PeriodFilters
from otklik.tickets import services
from otklik.tickets.models import Ticket
from otklik.tickets.policies import TicketPolicy
from otklik.workflow.models import Move, TicketProcess
from otklik.workflow.services import process_version_save, workflow_transition, workflow_vote
from tests.conftest import logged_in
from tests.helpers import MSK, fresh, msk
from tests.reports.charts import main_part
from tests.workflow.conftest import crew  # noqa: F401  (the people of the process)

DAY = dt.date(2026, 3, 10)
NOW = msk(2026, 3, 12, 9, 0)
PERIOD = PeriodFilters(DAY, DAY)


@dataclass
class Walk:
    """Tickets walked through the process at given Moscow instants, remembering the ticket's tier after
    each move and at creation as the engine left it (the reference's ground truth)."""

    make_ticket: object
    start_tier: dict[int, str] = field(default_factory=dict)
    tier_after: dict[int, str] = field(default_factory=dict)

    def new(self, when: dt.datetime, **kw) -> Ticket:
        with clock.frozen(when):
            ticket = self.make_ticket(**kw)
        self.start_tier[ticket.pk] = fresh(ticket).tier
        return ticket

    def _observe(self, ticket: Ticket) -> None:
        for move in Move.objects.filter(ticket=ticket).exclude(pk__in=list(self.tier_after)):
            self.tier_after[move.pk] = fresh(ticket).tier

    def move(self, when: dt.datetime, actor, ticket: Ticket, transition: str, **values) -> None:
        with clock.frozen(when):
            workflow_transition(actor=actor, ticket=fresh(ticket), transition=transition, values=values)
        self._observe(ticket)

    def vote(self, when: dt.datetime, actor, ticket: Ticket, vote: str) -> None:
        with clock.frozen(when):
            workflow_vote(actor=actor, ticket=fresh(ticket), vote=vote)

    def reopen(self, when: dt.datetime, actor, ticket: Ticket) -> None:
        with clock.frozen(when):
            services.ticket_reopen(actor=actor, ticket=fresh(ticket))
        self._observe(ticket)


def h(hour: int, minute: int = 0, day: int = 10) -> dt.datetime:
    return msk(2026, 3, day, hour, minute)


@pytest.fixture
def walk(crew, cast, make_ticket) -> Walk:  # noqa: F811
    """A day of tickets through every branch; two just outside the day (Moscow) on either side."""
    w = Walk(make_ticket)
    mine = {"actor": cast.staff, "author": cast.client, "responsible": cast.staff}
    others = {"actor": cast.admin, "author": cast.client, "responsible": cast.staff2}

    solved = w.new(h(0, 10), **mine)  # 00:10 Moscow = 21:10 UTC the day before: inside the day
    w.move(h(1), crew.l1, solved, "solve", comment="Cleared the cache")
    w.move(h(2, 30), crew.l1, solved, "close", reply="Try again, please.")

    spam = w.new(h(8), **mine)
    w.move(h(8, 15), crew.l1, spam, "profanity")

    admin_team = w.new(h(9), **others)
    w.move(h(9, 30), crew.l1, admin_team, "to_administration")

    incident = w.new(h(10), **others)
    w.move(h(10, 20), crew.l1, incident, "escalate", comment="Export fails")
    w.move(h(11), crew.manager, incident, "incident")
    w.move(h(12), crew.manager, incident, "assign_it")
    w.move(h(15), crew.itop, incident, "done")
    w.move(h(16), crew.tester, incident, "verified")
    w.move(h(17), crew.l1, incident, "close", reply="Fixed.")

    accident = w.new(h(11), **mine)
    w.move(h(11, 5), crew.l1, accident, "escalate", comment="Site is down")
    w.move(h(11, 10), crew.manager, accident, "accident")
    w.move(h(11, 30), crew.manager, accident, "assign_developer")

    approved = w.new(h(12), **others)
    w.move(h(12, 10), crew.l1, approved, "escalate", comment="Wants a new report")
    w.move(h(13), crew.manager, approved, "change_request")
    w.vote(h(14), crew.board1, approved, "approve")
    w.vote(h(14, 5), crew.board2, approved, "approve")
    w.move(h(15), crew.board3, approved, "approve")
    w.move(h(16), crew.manager, approved, "plan", planned_effort="8")
    w.move(h(17), crew.manager, approved, "assign_integrator")

    rejected = w.new(h(13), **mine)
    w.move(h(13, 10), crew.l1, rejected, "escalate", comment="Wants dark mode")
    w.move(h(14), crew.manager, rejected, "change_request")
    w.vote(h(15), crew.board1, rejected, "reject")
    w.vote(h(15, 5), crew.board2, rejected, "reject")
    w.move(h(16), crew.board3, rejected, "reject")
    w.move(h(18), crew.l1, rejected, "close", reply="Not planned.")

    waiting = w.new(h(14), **others)
    w.move(h(14, 10), crew.l1, waiting, "escalate", comment="Feature")
    w.move(h(15), crew.manager, waiting, "change_request")

    back = w.new(h(15), **mine)
    w.move(h(15, 10), crew.l1, back, "escalate", comment="Maybe a bug")
    w.move(h(16), crew.manager, back, "back_to_l1", comment="Not technical")
    w.move(h(17), crew.l1, back, "solve", comment="Explained")

    reopened = w.new(h(16), **mine)
    w.move(h(16, 30), crew.l1, reopened, "solve", comment="Done")
    w.move(h(17), crew.l1, reopened, "close", reply="Done.")
    w.reopen(h(20), cast.client, reopened)

    w.new(h(23, 30), **mine)  # 23:30 Moscow = 20:30 UTC: still the 10th, never touched
    w.new(h(0, 30, day=11), **mine)  # 00:30 Moscow on the 11th = 21:30 UTC on the 10th: outside
    w.new(h(23, 50, day=9), **others)  # the 9th in Moscow: outside
    return w


FINAL = {"closed", "done"}  # the final states of the shipped process and of the test's own


def reference(policy: TicketPolicy, walk: Walk, start=None, end=None) -> dict:
    """Compute the funnel by walking every visible ticket and its moves in Python: the obvious definitions."""
    start, end = start or PERIOD.bounds(MSK)[0], end or PERIOD.bounds(MSK)[1]
    stages = dict.fromkeys(selectors.STAGES, 0)
    outcomes: dict = defaultdict(lambda: dict.fromkeys(selectors.STAGES, 0))
    types = {"accident": 0, "incident": 0, "change_request": 0}
    changes = dict.fromkeys(selectors.CHANGES, 0)
    seconds: dict = defaultdict(float)
    tickets_in: dict = defaultdict(int)
    for ticket in Ticket.objects.order_by("pk"):
        place = TicketProcess.objects.filter(ticket=ticket).first()
        if not policy.can_view(ticket) or place is None or not start <= ticket.created_at < end:
            continue
        moves = list(Move.objects.filter(ticket=ticket).order_by("at", "id"))
        # Each interval: (since, tier); a move into a final state starts one in no tier.
        edges = [(ticket.created_at, walk.start_tier[ticket.pk])]
        edges += [(m.at, None if m.target in FINAL else walk.tier_after[m.pk]) for m in moves]
        reached = {tier for _at, tier in edges if tier}
        for (since, tier), (until, _next) in zip(edges, [*edges[1:], (NOW, None)], strict=True):
            if tier:
                seconds[tier] += (until - since).total_seconds()
        for tier in reached:
            tickets_in[tier] += 1
        escalated = bool(reached & {"L2", "L3"})
        closed = ticket.closed_at is not None
        row = {
            "entered": 1,
            "solved_l1": closed and not escalated,
            "open_l1": not closed and not escalated,
            "escalated": escalated,
            "escalated_l2": "L2" in reached,
            "escalated_l3": "L3" in reached,
        }
        for name, value in row.items():
            stages[name] += value
            outcomes[place.l1_outcome or None][name] += value
        if ticket.ticket_type:
            types[ticket.ticket_type] += 1
        changes["approved"] += any(m.transition == "approve" for m in moves)
        changes["rejected"] += any(m.transition == "reject" for m in moves)
        changes["awaiting"] += place.state == "board"
    hours = {tier: seconds[tier] / 3600 for tier in ("L1", "L2", "L3")}
    return {
        "stages": stages,
        "outcomes": dict(outcomes),
        "types": types,
        "changes": changes,
        "hours": hours,
        "tickets_in": {tier: tickets_in[tier] for tier in ("L1", "L2", "L3")},
    }


def computed(result: selectors.Funnel) -> dict:
    return {
        "stages": result.stages,
        "outcomes": {row.key: row.counts for row in result.outcomes},
        "types": result.types,
        "changes": result.changes,
        "hours": {t.tier: pytest.approx(t.hours, abs=1e-6) for t in result.tiers},
        "tickets_in": {t.tier: t.tickets for t in result.tiers},
    }


def run(policy: TicketPolicy, filters: PeriodFilters = PERIOD) -> selectors.Funnel:
    with clock.frozen(NOW):
        return selectors.funnel(policy, filters, tz=MSK)


@pytest.mark.parametrize("who", ["admin", "staff", "staff2", "demo", "l1"])
def test_funnel_every_number_equals_the_reference(walk, cast, crew, who):  # noqa: F811
    user = getattr(crew, who) if who == "l1" else getattr(cast, who)
    policy = TicketPolicy(user)
    assert computed(run(policy)) == reference(policy, walk)


@pytest.mark.parametrize("who", ["admin", "staff"])
def test_funnel_from_the_summary_table_equals_the_reference(walk, cast, who):
    with clock.frozen(NOW):
        report = facts_refresh()
    moved = Move.objects.values("ticket_id").distinct().count()
    assert report.funnels == moved == FunnelFact.objects.count()
    assert FactsProgress.objects.get().last_move_id == Move.objects.order_by("-pk").first().pk  # all settled
    policy = TicketPolicy(getattr(cast, who))
    assert computed(run(policy)) == reference(policy, walk)


def test_funnel_joins_the_summary_with_the_moves_made_after_the_job(walk, cast, crew):  # noqa: F811
    """Tickets summarised by the job and moved again later: the newer moves count, nothing twice."""
    with clock.frozen(NOW):
        facts_refresh()
    accident = Ticket.objects.get(process_moves__transition="accident")  # at L3 (the developer) by now
    assert fresh(accident).tier == "L3"
    walk.move(h(9, day=11), crew.developer, accident, "done")
    policy = TicketPolicy(cast.admin)
    assert computed(run(policy)) == reference(policy, walk)
    with clock.frozen(NOW + dt.timedelta(hours=1)):
        facts_refresh()
    assert computed(run(policy)) == reference(policy, walk)


def test_funnel_rows_read_forward_equal_a_rebuild(crew, make_ticket):  # noqa: F811
    """The job after each move writes the rows a rebuild writes, and the funnel stays exact between."""
    w = Walk(make_ticket)
    ticket, other = w.new(h(10)), w.new(h(10, 5))
    steps = [
        (h(10, 30), crew.l1, ticket, "escalate", {"comment": "x"}),
        (h(11), crew.l1, other, "solve", {"comment": "y"}),
        (h(12, 30), crew.manager, ticket, "incident", {}),
        (h(13), crew.manager, ticket, "assign_developer", {}),
        (h(17), crew.developer, ticket, "done", {}),
    ]
    for when, actor, target, transition, values in steps:
        w.move(when, actor, target, transition, **values)
        with clock.frozen(when + dt.timedelta(minutes=5)):  # inside the job's lag: read again next time
            facts_refresh()
        with clock.frozen(when + dt.timedelta(minutes=30)):
            facts_refresh()
    hours = {t.tier: t.hours for t in run(TicketPolicy(ticket.author)).tiers}
    # ticket: L1 0.5 h, L2 2 h + 0.5 h, L3 4 h, then testing (L2) from 17:00 on the 10th to 09:00 on the 12th;
    # other: L1 from 10:05 to its solving at 11:00, then waiting for the client's confirmation (L1) to now.
    assert hours["L3"] == pytest.approx(4.0)
    assert hours["L2"] == pytest.approx(2.5 + 40)

    def rows():
        return set(
            FunnelFact.objects.values_list("ticket_id", *(f.name for f in FunnelFact._meta.fields[1:]))
        )

    incremental = rows()
    assert len(incremental) == 2
    with clock.frozen(NOW):
        facts_rebuild()
    assert rows() == incremental
    assert {t.tier: t.hours for t in run(TicketPolicy(ticket.author)).tiers} == hours


def test_funnel_by_hand_for_the_admin(walk, cast):
    result = run(TicketPolicy(cast.admin))
    # 11 tickets on the 10th in Moscow (the 00:10 and the 23:30 ones included, the 00:30 of the 11th not).
    assert result.stages == {
        "entered": 11,
        "solved_l1": 2,  # solved + spam (the reopened one is open again)
        "open_l1": 3,  # administration, the untouched one, the reopened one
        "escalated": 6,  # incident, accident, approved, rejected, waiting, sent back to L1
        "escalated_l2": 6,
        "escalated_l3": 4,  # accident (developer), approved (board), rejected (board), waiting (board)
    }
    assert result.types == {"accident": 1, "incident": 1, "change_request": 3}
    assert result.changes == {"approved": 1, "rejected": 1, "awaiting": 1}
    outcomes = {row.key: row.counts for row in result.outcomes}
    assert outcomes["profanity"]["solved_l1"] == 1 and outcomes["administration"]["open_l1"] == 1
    assert outcomes["technical"]["entered"] == 8 and outcomes["technical"]["escalated"] == 6
    assert outcomes[None] == {
        "entered": 1, "solved_l1": 0, "open_l1": 1, "escalated": 0, "escalated_l2": 0, "escalated_l3": 0,
    }  # fmt: skip
    assert result.outcomes[-1].key is None  # "not classified yet" last
    tiers = {t.tier: t for t in result.tiers}
    assert {tier: t.tickets for tier, t in tiers.items()} == {"L1": 11, "L2": 6, "L3": 4}
    assert tiers["L3"].average_hours == pytest.approx(tiers["L3"].hours / 4)


def test_funnel_time_in_tier_of_one_ticket_by_hand(crew, make_ticket):  # noqa: F811
    w = Walk(make_ticket)
    ticket = w.new(h(10))
    w.move(h(10, 30), crew.l1, ticket, "escalate", comment="x")  # 0.5 h at L1
    w.move(h(12, 30), crew.manager, ticket, "incident")  # 2 h in triage (L2)
    w.move(h(13), crew.manager, ticket, "assign_developer")  # 0.5 h in incident (L2), then L3
    w.move(h(17), crew.developer, ticket, "done")  # 4 h in work as L3, then testing (L2)
    w.move(h(18), crew.tester, ticket, "verified")  # 1 h testing (L2), then inform (L1)
    w.move(h(19, 30), crew.l1, ticket, "close", reply="Fixed")  # 1.5 h inform (L1), then closed: no tier
    result = run(TicketPolicy(ticket.author))
    hours = {t.tier: t.hours for t in result.tiers}
    assert hours == {"L1": pytest.approx(2.0), "L2": pytest.approx(3.5), "L3": pytest.approx(4.0)}
    assert {t.tier: t.tickets for t in result.tiers} == {"L1": 1, "L2": 1, "L3": 1}


def test_funnel_counts_open_time_up_to_now(crew, make_ticket):  # noqa: F811
    w = Walk(make_ticket)
    untouched = w.new(h(9))
    ticket = w.new(h(10))
    w.move(h(11), crew.l1, ticket, "escalate", comment="x")
    result = run(TicketPolicy(untouched.author))  # now: the 12th, 09:00
    hours = {t.tier: t.hours for t in result.tiers}
    assert hours["L1"] == pytest.approx(48 + 1)  # the untouched one since 09:00 on the 10th, plus one hour
    assert hours["L2"] == pytest.approx(46)  # in triage since 11:00 on the 10th


def test_funnel_moscow_day_boundaries(walk, cast):
    policy = TicketPolicy(cast.admin)
    days = [DAY.replace(day=day) for day in (9, 10, 11)]
    assert [run(policy, PeriodFilters(day, day)).stages["entered"] for day in days] == [1, 11, 1]
    both = run(policy, PeriodFilters(DAY, DAY.replace(day=11)))
    assert both.stages["entered"] == 12
    start, end = PeriodFilters(DAY, DAY.replace(day=11)).bounds(MSK)
    assert computed(both) == reference(policy, walk, start, end)


def test_funnel_staff_see_only_their_tickets(walk, cast):
    admin = run(TicketPolicy(cast.admin)).stages
    staff = run(TicketPolicy(cast.staff)).stages
    assert 0 < staff["entered"] < admin["entered"]
    body = logged_in(cast.staff).get("/api/v1/reports/funnel?date_from=2026-03-10&date_to=2026-03-10")
    assert body.json()["stages"] == staff
    page = logged_in(cast.staff).get(
        reverse("reports:funnel"), {"date_from": "2026-03-10", "date_to": "2026-03-10"}
    )
    assert page.context["totals"][0] == staff["entered"]


def test_funnel_buckets_by_day_of_creation(walk, cast):
    policy = TicketPolicy(cast.admin)
    result = run(policy, PeriodFilters(DAY.replace(day=9), DAY.replace(day=11), "day"))
    assert [(b.start.day, b.solved_l1, b.open_l1, b.escalated) for b in result.buckets] == [
        (9, 0, 1, 0),
        (10, 2, 3, 6),
        (11, 0, 1, 0),
    ]
    weekly = run(policy, PeriodFilters(DAY.replace(day=9), DAY.replace(day=11), "week"))
    assert [(b.start, b.solved_l1 + b.open_l1 + b.escalated) for b in weekly.buckets] == [
        (dt.date(2026, 3, 9), 13)
    ]


def test_funnel_reads_every_versions_rules_and_the_tier_a_form_chose(crew, cast, make_ticket):  # noqa: F811
    """A second process, started by new tickets, whose move lets the operator choose the tier."""
    mini = {
        "code": "mini",
        "name": {"ru": "Мини", "en": "Mini"},
        "start": "a",
        "states": {
            "a": {"name": {"ru": "А", "en": "A"}, "role": "l1_operator", "tier": "L1"},
            "b": {"name": {"ru": "Б", "en": "B"}, "role": "l1_operator", "tier": "L2"},
            "done": {"name": {"ru": "Готово", "en": "Done"}, "final": True},
        },
        "transitions": [
            {"code": "up", "from": "a", "to": "b", "name": {"ru": "Выше", "en": "Up"}, "roles": ["l1_operator"],
             "fields": [{"name": "tier", "required": True}], "outcome": "tech"},
            {"code": "finish", "from": "b", "to": "done", "name": {"ru": "Всё", "en": "Finish"},
             "roles": ["l1_operator"], "actions": [{"type": "close"}]},
        ],
    }  # fmt: skip
    w = Walk(make_ticket)
    shipped = w.new(h(9))
    w.move(h(10), crew.l1, shipped, "escalate", comment="x")
    process_version_save(actor=cast.admin, data=mini, starts_new_tickets=True)
    chosen = w.new(h(11))
    w.move(h(12), crew.l1, chosen, "up", tier="L3")  # the form's choice beats the state's L2
    w.move(h(14), crew.l1, chosen, "finish")
    assert w.tier_after[Move.objects.get(transition="up").pk] == "L3"
    policy = TicketPolicy(cast.admin)
    result = run(policy)
    assert computed(result) == reference(policy, w)
    hours = {t.tier: t.hours for t in result.tiers}
    assert hours["L3"] == pytest.approx(2) and result.stages["escalated_l3"] == 1
    assert {row.key for row in result.outcomes} == {"technical", "tech"}


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


URLS = (
    "/reports/funnel/?date_from=2026-03-01&date_to=2026-03-31",
    "/reports/funnel/?date_from=2026-03-01&date_to=2026-03-31&grain=week&format=csv",
    "/reports/funnel/?date_from=2026-03-01&date_to=2026-03-31&format=xlsx&table=tiers",
    "/api/v1/reports/funnel?date_from=2026-03-01&date_to=2026-03-31",
)


def test_funnel_query_count_does_not_grow_with_the_data(crew, cast, make_ticket):  # noqa: F811
    w = Walk(make_ticket)
    client = logged_in(cast.admin)

    def more(n: int, day: int) -> None:
        for i in range(n):
            ticket = w.new(h(9 + i % 8, day=day))
            w.move(h(18, day=day), crew.l1, ticket, "escalate" if i % 2 else "solve", comment="x")
            if i % 2:
                w.move(h(19, day=day), crew.manager, ticket, "incident")

    more(2, 3)
    small = [_queries(client, url) for url in URLS]
    more(8, 4)
    more(4, 20)
    assert [_queries(client, url) for url in URLS] == small
    assert client.get(URLS[3]).json()["stages"]["entered"] == 14


def test_funnel_exports_csv_and_xlsx(walk, cast):
    client = logged_in(cast.admin, "en")
    url = reverse("reports:funnel")
    params = {"date_from": "2026-03-10", "date_to": "2026-03-10", "format": "csv"}
    with clock.frozen(NOW):
        rows = list(csv.reader(io.StringIO(client.get(url, params).content.decode("utf-8-sig"))))
        tiers = list(
            csv.reader(io.StringIO(client.get(url, {**params, "table": "tiers"}).content.decode("utf-8-sig")))
        )
        types = list(
            csv.reader(io.StringIO(client.get(url, {**params, "table": "types"}).content.decode("utf-8-sig")))
        )
        days = client.get(url, {**params, "table": "buckets"}).content.decode("utf-8-sig")
        book = client.get(url, {**params, "format": "xlsx"})
    assert rows[0] == ["L1 outcome", "Entered the process", "Solved at L1", "Still at L1", "Escalated",
                       "Escalated to L2", "Escalated to L3"]  # fmt: skip
    assert rows[-1] == ["Total", "11", "2", "3", "6", "6", "4"]
    assert ["Technical question", "8", "1", "1", "6", "6", "4"] in rows
    result = run(TicketPolicy(cast.admin))
    assert [row[:2] for row in tiers[1:]] == [[t.tier, str(t.tickets)] for t in result.tiers]
    assert float(tiers[1][2]) == pytest.approx(result.tiers[0].hours, abs=0.05)
    assert ["Change requests", "3"] in types and ["Approved", "1"] in types
    assert "10 Mar" in days
    assert book["Content-Disposition"].endswith('funnel-outcomes.xlsx"')
    sheet = zipfile.ZipFile(io.BytesIO(b"".join(book.streaming_content))).read("xl/worksheets/sheet1.xml")
    assert b"Technical question" in sheet


@pytest.mark.parametrize(("language", "technical", "none"), [("en", "Technical question", "(not classified yet)"),
                                                              ("ru", "Технический вопрос", None)])  # fmt: skip
def test_funnel_names_follow_the_viewers_language(walk, cast, language, technical, none):
    client = logged_in(cast.admin, language)
    with clock.frozen(NOW):
        body = client.get("/api/v1/reports/funnel?date_from=2026-03-10&date_to=2026-03-10").json()
        page = client.get(reverse("reports:funnel"), {"date_from": "2026-03-10", "date_to": "2026-03-10"})
    names = {row["key"]: row["name"] for row in body["l1_outcomes"]}
    assert names["technical"] == technical
    if none:
        assert names[None] == none
    html = page.content.decode()
    assert technical in html and main_part(html).count("<svg") == 3
    assert [item["url"] for item in page.context["nav"] if item["active"]] == [reverse("reports:funnel")]


def test_funnel_api_shape(walk, cast):
    with clock.frozen(NOW):
        body = (
            logged_in(cast.admin).get("/api/v1/reports/funnel?date_from=2026-03-10&date_to=2026-03-10").json()
        )
    assert set(body) == {"date_from", "date_to", "hours", "stages", "l1_outcomes", "types", "changes", "tiers",
                         "buckets"}  # fmt: skip
    assert body["hours"] == "calendar" and body["date_from"] == "2026-03-10"
    assert set(body["stages"]) == set(selectors.STAGES)
    assert [t["tier"] for t in body["tiers"]] == ["L1", "L2", "L3"]
    expected = reference(TicketPolicy(cast.admin), walk)
    assert body["stages"] == expected["stages"]
    assert {t["tier"]: t["hours"] for t in body["tiers"]} == pytest.approx(expected["hours"])
    assert body["changes"] == expected["changes"] and body["types"] == expected["types"]
    assert len(body["buckets"]) == 1 and body["buckets"][0]["escalated"] == 6


@pytest.mark.parametrize(
    "query",
    [
        "date_from=yesterday",
        "date_from=2026-02-02&date_to=2026-02-01",
        "grain=year",
        "sla=0",
        "group=-1",
        "date_from=2000-01-01&date_to=2026-01-01",
        "date_from=9999-12-01&date_to=9999-12-31",
        "date_to=0001-01-01",
    ],
)
def test_funnel_api_bad_input_is_422(cast, query):
    response = logged_in(cast.staff).get(f"/api/v1/reports/funnel?{query}")
    assert response.status_code == 422
    assert response.json()["detail"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"date_from": "yesterday"}, "date_from"),
        ({"date_from": "2026-03-10", "date_to": "2026-03-01"}, "date_to"),
        ({"grain": "year"}, "grain"),
        ({"sla": "999999"}, "sla"),
        ({"date_from": "9999-12-01", "date_to": "9999-12-31"}, "date_to"),
    ],
)
def test_funnel_page_bad_input_shows_the_message_and_the_default(walk, cast, params, field):
    page = logged_in(cast.admin).get(reverse("reports:funnel"), params)
    assert page.status_code == 200
    assert field in page.context["form"].errors
    assert 'role="alert"' in page.content.decode()
    assert page.context["filters"] == PeriodFilters.default()


def test_funnel_refuses_clients(cast):
    client = logged_in(cast.client)
    assert client.get("/api/v1/reports/funnel").status_code == 403
    assert client.get(reverse("reports:funnel")).status_code == 403


def test_funnel_is_in_the_openapi_schema(db):
    from django.test import Client

    schema = Client().get("/api/v1/openapi.json").json()
    operation = schema["paths"]["/api/v1/reports/funnel"]["get"]
    assert "200" in operation["responses"] and "422" in operation["responses"]
    assert {p["name"] for p in operation["parameters"]} >= {"date_from", "date_to", "sla", "group"}


def _places() -> tuple[dict, dict]:
    """Return each ticket's (state, outcome) as its place holds it and as the ticket's copy holds it."""
    held = dict.fromkeys(Ticket.objects.values_list("pk", flat=True), ("", ""))
    held.update({p.ticket_id: (p.state, p.l1_outcome) for p in TicketProcess.objects.all()})
    copies = {
        pk: (state, outcome)
        for pk, state, outcome in Ticket.objects.values_list("pk", "process_state", "l1_outcome")
    }
    return held, copies


def test_tickets_carry_their_process_place(walk):
    """Every move, outside close and reopen keeps the ticket's copy of its place (the desk groups by it)."""
    held, copies = _places()
    assert copies == held
    assert {state for state, _outcome in copies.values()} >= {"closed", "board", "l1"}


def test_the_migration_copies_the_places(walk):
    from importlib import import_module

    from django.apps import apps

    Ticket.objects.update(process_state="", l1_outcome="")
    import_module("otklik.workflow.migrations.0004_ticket_process_copies").copy_places(apps, None)
    held, copies = _places()
    assert copies == held
