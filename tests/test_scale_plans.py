"""Lists whose cost must not grow with the number of tickets (issue 19, "a million tickets").

Each fix found by bench.scale_pages at 10⁴ / 10⁵ / 10⁶ tickets has a test here: the rows still right on
both databases, and the shape of the statement or of its plan that keeps the cost flat (PostgreSQL's
EXPLAIN, or SQLite's EXPLAIN QUERY PLAN for the embedded database's own path).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from otklik.accounts.models import SupportGroupMember
from otklik.tickets import selectors
from otklik.tickets.models import Ticket, TicketCc
from otklik.tickets.policies import TicketPolicy
from otklik.tickets.selectors import TicketFilter, ticket_list
from tests.helpers import Api

POSTGRES = connection.vendor == "postgresql"


def _postgres_plan(sql: str) -> str:
    """Return PostgreSQL's plan of a statement (EXPLAIN, without running it), one node a line."""
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


def _sqlite_plan(sql: str, params=()) -> str:
    """Return SQLite's plan of a statement (EXPLAIN QUERY PLAN), one step a line."""
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return "\n".join(str(row[-1]) for row in cursor.fetchall())


def _others_tickets(author, count: int) -> None:
    """Bulk-insert `count` bare tickets by `author` (list data, not domain writes) and refresh the stats."""
    now = timezone.now()
    Ticket.objects.bulk_create(
        Ticket(title=f"Other {i}", author=author, created_at=now, modified_at=now, last_message_at=now)
        for i in range(count)
    )
    if POSTGRES:
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {Ticket._meta.db_table}")


def test_client_list_sees_own_colleagues_and_copied_tickets_only(cast, make_ticket):
    own = make_ticket(title="Mine")
    mate = make_ticket(actor=cast.colleague, title="My colleague's")
    outsider = make_ticket(actor=cast.other_client, title="Another company's")
    copied_mate = make_ticket(actor=cast.colleague, title="Copied, colleague's")
    copied_outsider = make_ticket(actor=cast.other_client, title="Copied, another company's")
    now = timezone.now()
    for ticket in (copied_mate, copied_outsider):
        TicketCc.objects.create(
            ticket=ticket, email=cast.client.email or "c@x.example", user=cast.client, created_at=now
        )
    # The colleague sees the client's tickets by the group; take the group's viewing right away so that
    # only the copy can open the colleague's ticket to the client.
    SupportGroupMember.objects.filter(user=cast.client).update(can_view=False)

    seen = set(ticket_list(TicketPolicy(cast.client)).values_list("pk", flat=True))

    assert own.pk in seen and copied_mate.pk in seen
    assert outsider.pk not in seen and copied_outsider.pk not in seen
    assert mate.pk not in seen


def test_client_list_reads_the_clients_own_index_entries_not_every_ticket(cast, make_ticket):
    """A client's list was `author = me OR id IN (copies)`: the IN made PostgreSQL read the newest-first
    index of every ticket (83,000 entries at 100,000 tickets for 20 rows). The copies go in as
    `id = ANY(ARRAY(...))`, an index condition: two index reads OR-ed, whatever the table holds."""
    make_ticket(title="Mine")
    _others_tickets(cast.other_client, 400)
    qs = ticket_list(TicketPolicy(cast.client), TicketFilter())[:20]
    if not POSTGRES:  # SQLite keeps IN (subquery) and reads each branch of the OR from an index
        plan = _sqlite_plan(*qs.query.sql_with_params())
        assert "MULTI-INDEX OR" in plan and "ticket_author_modified" in plan, plan
        assert "SCAN tickets_ticket" not in plan, plan
        return

    assert "= ANY(ARRAY(SELECT" in str(qs.query)
    with transaction.atomic(), connection.cursor() as cursor:
        # Whatever the test table's statistics say: with plain scans priced out, only a condition that
        # indexes can answer (each branch of the OR) avoids reading the table.
        cursor.execute("SET LOCAL enable_seqscan TO off")
        cursor.execute("SET LOCAL enable_indexscan TO off")
        plan = qs.explain()
    assert "BitmapOr" in plan and "ticket_author_modified" in plan, plan
    assert "Seq Scan on tickets_ticket" not in plan, plan


# -- a search's count ------------------------------------------------------------------------------------------
def _searchable(make_ticket, actor, count: int, word: str) -> list[int]:
    return [
        make_ticket(actor=actor, title=f"{word} {i}", message=f"The {word} broke again").pk
        for i in range(count)
    ]


def test_search_count_counts_visible_matches_only_up_to_the_limit(cast, make_ticket):
    text = "printer"
    mine = _searchable(make_ticket, cast.client, 3, "printer")
    _searchable(make_ticket, cast.other_client, 2, "printer")  # another company's: not in the client's sight
    make_ticket(title="Scanner", message="Nothing to see")

    client, admin = TicketPolicy(cast.client), TicketPolicy(cast.admin)
    assert selectors.ticket_search_count(client, TicketFilter(q=text), 100) == len(mine)
    assert selectors.ticket_search_count(admin, TicketFilter(q=text), 100) == 5
    assert selectors.ticket_search_count(admin, TicketFilter(q=text), 4) == 4  # stops at the limit
    # The list's other conditions and an inbox's hold as in the rows.
    assert selectors.ticket_search_count(admin, TicketFilter(q=text, author=cast.client.pk), 100) == 3
    assert selectors.ticket_search_count(admin, TicketFilter(q=text), 100, Q(pk__in=mine[:1])) == 1
    number = TicketFilter(q=str(mine[0]))  # the ticket with that id, and the texts with that number
    assert selectors.ticket_search_count(admin, number, 100) == ticket_list(admin, number).count()


def test_staff_list_search_says_more_than_the_search_cap(client, cast, make_ticket, monkeypatch):
    monkeypatch.setattr(selectors, "SEARCH_COUNT_CAP", 2)
    _searchable(make_ticket, cast.client, 3, "printer")
    make_ticket(title="Scanner", message="Nothing to see")
    client.force_login(cast.admin)

    searched = client.get(reverse("tickets:staff_list"), {"q": "printer", "size": 20}).context["page"]
    plain = client.get(reverse("tickets:staff_list"), {"size": 20}).context["page"]

    assert (searched.paginator.count, searched.paginator.capped) == (2, True)
    assert len(searched.object_list) == 2  # the pages stop at the cap, as past the list's own cap
    assert (plain.paginator.count, plain.paginator.capped) == (4, False)


def test_search_count_reads_the_matches_first_and_probes_their_tickets(cast, make_ticket):
    """The list's capped count joined all matches to all tickets in sight (a hash of 580,000 tickets and
    every matching document at 10⁶): the count must start from the GIN index and probe each match's
    ticket by its key, so that it stops after `limit` matches."""
    _searchable(make_ticket, cast.client, 3, "printer")
    with CaptureQueriesContext(connection) as statements:
        selectors.ticket_search_count(TicketPolicy(cast.staff), TicketFilter(q="printers"), 1001)
    sql = statements.captured_queries[-1]["sql"]
    if not POSTGRES:  # SQLite: the matches come from the FTS5 index, the tickets by their keys
        plan = _sqlite_plan(sql)
        assert "tickets_fts VIRTUAL TABLE INDEX" in plan and "SCAN tickets_ticket" not in plan, plan
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan TO off")  # a test-sized table is cheaper to scan
        cursor.execute("EXPLAIN " + sql)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Bitmap Index Scan on ticket_search_staff_gin" in plan, plan
    assert "SubPlan" in plan and "Join" not in plan, plan


# -- the API list: capped count, cursor paging -------------------------------------------------------------
@pytest.fixture
def dated_tickets(cast, make_ticket) -> list[int]:
    """Seven tickets whose creation and change times tie in threes (the id breaks the ties)."""
    ids = [make_ticket(title=f"T{i}").pk for i in range(7)]
    base = timezone.now() - timedelta(days=3)
    for i, pk in enumerate(ids):
        when = base + timedelta(hours=[0, 0, 0, 1, 2, 2, 2][i])
        Ticket.objects.filter(pk=pk).update(created_at=when, modified_at=when + timedelta(minutes=i % 2))
    return ids


@pytest.mark.parametrize("sort", ["id", "-id", "created", "-created", "modified", "-modified"])
def test_api_cursor_pages_walk_every_ticket_once_in_order_through_ties(cast, dated_tickets, sort):
    api = Api(cast.admin)
    everything = [
        r["id"] for r in api.get("/api/v1/tickets", {"sort": sort, "page_size": 50}).json()["results"]
    ]
    walked, cursor, pages = [], "", 0
    while True:
        answer = api.get("/api/v1/tickets", {"sort": sort, "page_size": 2, "cursor": cursor}).json()
        walked += [r["id"] for r in answer["results"]]
        pages += 1
        cursor = answer["next_cursor"]
        if not cursor:
            break
    assert sorted(everything) == sorted(dated_tickets)
    assert walked == everything and pages == 4  # 2 + 2 + 2 + 1


def test_api_cursor_refused_for_another_sort_damaged_or_the_default_order(cast, dated_tickets):
    api = Api(cast.admin)
    cursor = api.get("/api/v1/tickets", {"sort": "created", "page_size": 2}).json()["next_cursor"]
    for params in (
        {"sort": "-created", "cursor": cursor},  # made for another order
        {"sort": "created", "cursor": cursor[:-3] + "AAA"},
        {"sort": "created", "cursor": "not a cursor"},
        {"cursor": cursor},  # the default order has no cursor
    ):
        response = api.get("/api/v1/tickets", params)
        assert response.status_code == 422, (params, response.content)
        assert response.json()["errors"]["cursor"], response.content
    assert "next_cursor" not in api.get("/api/v1/tickets").json()


def test_api_list_count_is_capped(cast, dated_tickets, monkeypatch):
    from otklik.tickets import api as tickets_api

    monkeypatch.setattr(tickets_api, "API_COUNT_CAP", 5)
    answer = Api(cast.admin).get("/api/v1/tickets", {"page_size": 2}).json()
    assert (answer["count"], answer["count_capped"]) == (5, True)
    monkeypatch.setattr(tickets_api, "API_COUNT_CAP", 7)
    answer = Api(cast.admin).get("/api/v1/tickets", {"page_size": 2}).json()
    assert (answer["count"], answer["count_capped"]) == (7, False)


@pytest.mark.parametrize(("sort", "index"), [("-created", "ticket_created"), ("modified", "ticket_modified")])
def test_api_cursor_page_starts_at_the_cursor_in_the_sort_index(cast, dated_tickets, sort, index):
    """An offset page read every row before it (500,000 at page 10,000 of 10⁶ tickets); a cursor page must
    start its index scan at the cursor: the sort column's bound is an index condition, not a filter."""
    from otklik.tickets import keyset

    policy = TicketPolicy(cast.admin)
    qs = ticket_list(policy, TicketFilter(), sort)
    cursor = keyset.cursor_encode(qs[2], sort)
    column = "created_at" if "created" in sort else "modified_at"
    if not POSTGRES:
        plan = _sqlite_plan(*keyset.after_cursor(qs, sort, cursor)[:2].query.sql_with_params())
        assert f"USING INDEX {index} ({column}" in plan, plan
        return
    with transaction.atomic(), connection.cursor() as cursor_:
        cursor_.execute("SET LOCAL enable_seqscan TO off")
        cursor_.execute("SET LOCAL enable_sort TO off")  # a test-sized table is cheaper to sort
        plan = keyset.after_cursor(qs, sort, cursor)[:2].explain()
    assert index in plan and f"Index Cond: ({column} " in plan, plan


# -- the SLA tick with nothing due ----------------------------------------------------------------------------
def _answered_tickets(author, count: int, *, open_every: int, answered_at) -> None:
    """Bulk-insert `count` tickets support answered last at `answered_at`, long closed but every
    `open_every`-th, which is open and answered just now (spread over the table, as on a real desk)."""
    now = timezone.now()
    rows = [
        Ticket(
            title=f"Answered {i}",
            author=author,
            created_at=answered_at,
            modified_at=answered_at,
            last_message_at=now if i % open_every == 0 else answered_at,
            last_message_by_support=True,
            awaits_support=False,
            closed_at=None if i % open_every == 0 else answered_at,
        )
        for i in range(count)
    ]
    Ticket.objects.bulk_create(rows, batch_size=2000)
    if POSTGRES:
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {Ticket._meta.db_table}")


def test_sla_tick_auto_close_check_closes_only_the_silent(cast, make_ticket):
    from otklik.tickets.services.sla_tick import auto_close

    long_ago = timezone.now() - timedelta(days=60)
    _answered_tickets(cast.client, 8, open_every=3, answered_at=long_ago)
    assert auto_close(timezone.now()) == 0  # the open ones were answered just now
    Ticket.objects.filter(closed_at__isnull=True, last_message_by_support=True).update(
        last_message_at=long_ago
    )
    assert auto_close(timezone.now()) == 3


def test_sla_tick_with_nothing_due_reads_the_auto_close_index_not_the_table(cast):
    """Most tickets closed long ago, a few open and answered just now: the check "is any ticket silent for
    its auto-close days?" must read the partial index from its oldest entry (finding none), not scan the
    table, as the bare EXISTS did (50 ms at 10⁵ tickets, 500 ms at 10⁶, every minute)."""
    from otklik.tickets.services.sla_tick import sla_tick

    _answered_tickets(cast.client, 20_000, open_every=20, answered_at=timezone.now() - timedelta(days=60))
    with CaptureQueriesContext(connection) as statements:
        report = sla_tick(timezone.now())
    assert report.auto_closed == 0
    check = next(
        q["sql"]
        for q in statements.captured_queries
        if 'auto_close_days" IS NULL' in q["sql"] and "LIMIT 1" in q["sql"]
    )
    if not POSTGRES:  # SQLite reads the open tickets' index entries, never the whole table
        plan = _sqlite_plan(check)
        assert "USING INDEX" in plan and "SCAN tickets_ticket" not in plan, plan
        return
    plan = _postgres_plan(check)
    assert "ticket_auto_close" in plan and "Seq Scan on tickets_ticket" not in plan, plan


def test_search_words_are_sampled_finely_enough_to_plan_a_rare_word(cast):
    """With the default statistics a word outside the sampled common words counted as 0.7% of the
    documents, and the staff list probed every visible ticket's document for it (15 s at 10⁶ tickets)."""
    if not POSTGRES:  # FTS5 keeps no statistics: a rare word's search always starts from its index
        qs = ticket_list(TicketPolicy(cast.staff), TicketFilter(q="northwind"))[:50]
        plan = _sqlite_plan(*qs.query.sql_with_params())
        assert "tickets_fts VIRTUAL TABLE INDEX" in plan, plan
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attname, attstattarget FROM pg_attribute "
            "WHERE attrelid = 'tickets_ticketsearchdocument'::regclass AND attname IN ('public_tsv', 'staff_tsv')"
        )
        targets = dict(cursor.fetchall())
    assert targets == {"public_tsv": 1000, "staff_tsv": 1000}


def test_sla_tick_with_no_reminder_due_reads_the_reminder_index_only(cast):
    """Most tickets long past their reminder, a twentieth open with a reminder ahead: "is any reminder
    due?" must be the partial index ticket_reminder_due up to now (no entry), not every open ticket with a
    deadline ahead read from the table (10,500 rows, 15 ms at 10⁶ tickets, every minute)."""
    from otklik.tickets.services.sla_tick import sla_tick

    now, long_ago = timezone.now(), timezone.now() - timedelta(days=60)
    Ticket.objects.bulk_create(
        (
            Ticket(
                title=f"T{i}",
                author=cast.client,
                created_at=long_ago,
                modified_at=long_ago,
                reminder_at=now + timedelta(hours=1) if i % 20 == 0 else long_ago,
                deadline_at=now + timedelta(hours=2) if i % 20 == 0 else long_ago,
                reminder_sent=i % 20 != 0,
                is_overdue=False,
            )
            for i in range(20_000)
        ),
        batch_size=2000,
    )
    if POSTGRES:
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {Ticket._meta.db_table}")
    with CaptureQueriesContext(connection) as statements:
        assert sla_tick(now).reminders == 0
    check = next(q["sql"] for q in statements.captured_queries if '"reminder_at" <=' in q["sql"])
    assert '"deadline_at"' not in check, check  # the index's own conditions only: nothing read from the table
    if not POSTGRES:
        plan = _sqlite_plan(check)
        assert "USING INDEX ticket_reminder_due" in plan, plan
        return
    plan = _postgres_plan(check)
    assert "ticket_reminder_due" in plan and "ticket_deadline_due" not in plan, plan


# -- the support staff picker on every staff page -------------------------------------------------------------
def test_support_user_list_reads_support_members_by_id_not_every_user(cast):
    """Every staff page lists the support users (filters, pickers). A join of every user to their groups
    with DISTINCT read all 50,000 client accounts at 10⁶ tickets (50-250 ms per page): the members of the
    support groups and the superusers are found by their ids instead."""
    from django.contrib.auth.models import User

    from otklik.accounts.selectors import support_user_list

    boss = User.objects.create_user("boss", is_superuser=True)
    qs = support_user_list()
    names = set(qs.values_list("username", flat=True))
    assert {"staff", "staff2", "admin", "boss"} <= names
    assert not names & {"client", "colleague", "other", "demo"}
    sql = str(qs.query)
    assert "DISTINCT" not in sql and "JOIN" not in sql.split(" WHERE ")[0], sql
    assert boss.pk and qs.count() == len(names)
