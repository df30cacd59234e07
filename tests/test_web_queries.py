"""No N+1 on the busiest pages: the number of SQL queries does not grow with the rows shown.

The staff list (as staff and as admin), the client list and the staff ticket page are requested with
few and with many rows; the query counts must be equal, and stay under a fixed ceiling.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from otklik.accounts.models import AccessLevel, SupportGroup
from otklik.accounts.services import support_group_add_member
from otklik.dictionaries.models import DictionaryEntry
from otklik.sla.models import SlaLevel
from otklik.tickets import services
from otklik.tickets.models import Message, Ticket
from tests.conftest import cast_create, make_user, upload
from tests.samples import log_bytes, png_bytes
from tests.shared_rows import rows_for_module

# Measured when written: staff list 16-18 (the list attaches users, dictionary entries and SLAs in three
# queries), client list 7-10, staff ticket page 29. The ceilings leave a little headroom; the equality checks
# are what catch N+1. The support process's card (F-30) adds to the staff ticket page its place, the acting
# role, the history of moves and the viewer's roles (4 queries; the roles are read once more by the
# visibility grant while the configuration cache is off, as in tests): 37 for staff, 33 for an admin.
# The workspace (issue 17) adds to the list one statement with every view's capped count and the process
# queue's roles (22), and to the ticket page the previous and next ticket for j / k and the check for the
# viewer's unread in-app notifications of the ticket, which opening it marks read, and the client card's
# companies and whether the viewer follows the ticket (42). The agent's day (issue 18) adds the viewer's
# macros, the links in both directions and the copies (CC); the followers are read once for the Follow button
# and the CC card's list (44).
LIST_CEILING = 22
TICKET_PAGE_CEILING = 44


def entry(kind: str, code: str) -> DictionaryEntry:
    return DictionaryEntry.objects.get(kind=kind, code=code)


def queries_for(client: Client, url: str, params: dict | None = None) -> tuple[int, object]:
    """Request the page once to warm up (options row, presence row), then count the queries of a second request."""
    client.get(url, params or {})
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(ctx.captured_queries), response


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture(scope="module")
def shared(django_db_setup, django_db_blocker, tmp_path_factory):
    """Build the cast and the crowd once for the module: each test counts queries, writes nothing it keeps."""
    yield from rows_for_module(django_db_blocker, tmp_path_factory, lambda: crowd_build(cast_create()))


@pytest.fixture
def crowd(shared, db, settings):
    return shared.for_test(settings)


@pytest.fixture
def cast(crowd):
    """The module's cast: the shared rows already hold users of these names (and the crowd's tickets)."""
    return crowd


def crowd_build(cast):
    """60 tickets of three authors with responsibles, statuses, SLAs, answers, marks, closed ones, staff groups."""
    team = SupportGroup.objects.create(name="First line", kind=SupportGroup.Kind.STAFF)
    support_group_add_member(group=team, user=cast.staff)
    support_group_add_member(group=team, user=cast.staff2)
    extra_staff = make_user("staff3", AccessLevel.STAFF, first_name="Pavel", last_name="Sidorov")
    sla = SlaLevel.objects.create(name="Standard", response_time=360, response_unit="minutes", priority=1)
    statuses = [entry("status", c) for c in ("accepted", "in_progress", "solved")]
    categories = [entry("category", c) for c in ("errors", "payment", "delivery")]
    marks = [entry("mark", c) for c in ("good", "incomplete", "bad")]
    authors = [cast.client, cast.colleague, cast.client, cast.other_client]
    responsibles = [None, cast.staff, cast.staff2, extra_staff]
    for n in range(60):
        author = authors[n % 4]
        ticket = services.ticket_create(
            actor=author,
            draft=services.TicketDraft(
                title=f"Ticket {n}: something is wrong",
                message=f"Details of problem {n}.",
                category=categories[n % 3],
            ),
        )
        changes = {"status": statuses[n % 3], "sla": sla}
        if responsibles[n % 4] is not None:
            changes["responsible"] = responsibles[n % 4]
        services.ticket_update(actor=cast.admin, ticket=Ticket.objects.get(pk=ticket.pk), changes=changes)
        if n % 2 == 0:
            services.message_post(
                actor=cast.admin,
                ticket=Ticket.objects.get(pk=ticket.pk),
                draft=services.MessageDraft(body="An answer."),
            )
            services.ticket_update(
                actor=author, ticket=Ticket.objects.get(pk=ticket.pk), changes={"mark": marks[n % 3]}
            )
        if n % 5 == 0:
            services.ticket_close(actor=cast.admin, ticket=Ticket.objects.get(pk=ticket.pk))
    return cast


@pytest.mark.parametrize("role", ["staff", "admin", "demo"])
def test_staff_list_page_size_does_not_change_query_count(crowd, role):
    client = as_user(getattr(crowd, role))
    url = reverse("tickets:staff_list")
    few, small = queries_for(client, url, {"size": 20})
    many, large = queries_for(client, url, {"size": 50})
    assert len(small.context["rows"]) == 20
    assert len(large.context["rows"]) > 20
    assert few == many, f"{few} queries for 20 rows, {many} for {len(large.context['rows'])}"
    assert many <= LIST_CEILING


def test_staff_list_with_filters_and_sort_keeps_query_count(crowd):
    client = as_user(crowd.admin)
    url = reverse("tickets:staff_list")
    params = {"state": "open", "sort": "-responsible", "category": entry("category", "errors").pk}
    few, _small = queries_for(client, url, {**params, "size": 20, "page": 2})
    many, _large = queries_for(client, url, {**params, "size": 50})
    all_open, _resp = queries_for(client, url, {"state": "open", "size": 50})
    assert few == many == all_open
    assert many <= LIST_CEILING


def test_client_list_page_size_does_not_change_query_count(crowd):
    client = as_user(crowd.client)
    url = reverse("tickets:client_list")
    few, small = queries_for(client, url, {"size": 20})
    many, large = queries_for(client, url, {"size": 50})
    assert len(small.context["rows"]) == 20
    assert len(large.context["rows"]) > 20  # the client sees own and the colleague's tickets: 45
    assert few == many, f"{few} queries for 20 rows, {many} for {len(large.context['rows'])}"
    assert many <= LIST_CEILING


def test_staff_list_csv_export_row_count_does_not_change_query_count(crowd):
    client = as_user(crowd.admin)
    url = reverse("tickets:staff_list")

    def export(params: dict) -> tuple[int, int]:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url, {**params, "export": "csv"})
            rows = b"".join(response.streaming_content).decode("utf-8-sig").strip().splitlines()
        return len(ctx.captured_queries), len(rows) - 1

    few_queries, few_rows = export({"id": Ticket.objects.order_by("pk").first().pk})
    many_queries, many_rows = export({})
    assert few_rows == 1 and many_rows == 60
    assert few_queries == many_queries
    assert many_queries <= LIST_CEILING


def _busy_ticket(cast, *, rounds: int) -> Ticket:
    """A ticket whose discussion has every kind of message: public, hidden, not-changing-status, on behalf,
    log lines with events, files and an edited message with its previous version."""
    ticket = services.ticket_create(
        actor=cast.client,
        draft=services.TicketDraft(
            title="Busy", message="First question.", files=[upload("shot.png", png_bytes())]
        ),
    )
    first = Message.objects.get(ticket=ticket, number=1)
    services.message_edit(actor=cast.admin, message=first, body="First question, clarified.")
    for n in range(rounds):
        t = Ticket.objects.get(pk=ticket.pk)
        services.message_post(
            actor=cast.staff,
            ticket=t,
            draft=services.MessageDraft(
                body=f"Answer {n}", minutes=5, files=[upload(f"log{n}.log", log_bytes())]
            ),
        )
        services.message_post(
            actor=cast.staff, ticket=t, draft=services.MessageDraft(body=f"Note {n}", hidden=True)
        )
        services.message_post(
            actor=cast.client,
            ticket=t,
            draft=services.MessageDraft(body=f"Reply {n}", files=[upload(f"s{n}.png", png_bytes())]),
        )
        services.message_post(
            actor=cast.staff2,
            ticket=t,
            draft=services.MessageDraft(body=f"Call {n}", on_behalf_of=cast.client),
        )
        services.message_post(
            actor=cast.staff,
            ticket=t,
            draft=services.MessageDraft(body=f"Still looking {n}", not_change_status=True),
        )
        services.ticket_update(
            actor=cast.staff,
            ticket=Ticket.objects.get(pk=ticket.pk),
            changes={
                "status": entry("status", "in_progress" if n % 2 else "accepted"),
                "admin_comment": f"comment {n}",
            },
        )
    return Ticket.objects.get(pk=ticket.pk)


@pytest.mark.parametrize("role", ["staff", "admin"])
def test_staff_ticket_page_message_count_does_not_change_query_count(cast, role):
    small = _busy_ticket(cast, rounds=0)
    large = _busy_ticket(cast, rounds=6)
    assert small.messages.count() <= 2 and large.messages.count() >= 30
    client = as_user(getattr(cast, role))
    few, _r1 = queries_for(client, reverse("tickets:staff_detail", args=[small.pk]))
    many, r2 = queries_for(client, reverse("tickets:staff_detail", args=[large.pk]))
    assert len(r2.context["messages_list"]) >= 30
    assert few == many, (
        f"{few} queries for {small.messages.count()} messages, {many} for {large.messages.count()}"
    )
    assert many <= TICKET_PAGE_CEILING


def test_client_ticket_page_message_count_does_not_change_query_count(cast):
    small = _busy_ticket(cast, rounds=0)
    large = _busy_ticket(cast, rounds=6)
    client = as_user(cast.client)
    few, _r1 = queries_for(client, reverse("tickets:client_detail", args=[small.pk]))
    many, r2 = queries_for(client, reverse("tickets:client_detail", args=[large.pk]))
    assert len(r2.context["messages_list"]) >= 20
    assert few == many
    assert many <= TICKET_PAGE_CEILING
