"""Lists whose cost must not grow with the number of tickets (issue 19, "a million tickets").

Each fix found by bench.scale_pages at 10⁴ / 10⁵ / 10⁶ tickets has a test here: the rows still right on
both databases, and on PostgreSQL the shape of the statement or of its plan that keeps the cost flat.
"""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.utils import timezone

from otklik.accounts.models import SupportGroupMember
from otklik.tickets.models import Ticket, TicketCc
from otklik.tickets.policies import TicketPolicy
from otklik.tickets.selectors import TicketFilter, ticket_list

POSTGRES = connection.vendor == "postgresql"


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


@pytest.mark.skipif(not POSTGRES, reason="the plan's shape is PostgreSQL's (SQLite keeps IN (subquery))")
def test_client_list_reads_the_clients_own_index_entries_not_every_ticket(cast, make_ticket):
    """A client's list was `author = me OR id IN (copies)`: the IN made PostgreSQL read the newest-first
    index of every ticket (83,000 entries at 100,000 tickets for 20 rows). The copies go in as
    `id = ANY(ARRAY(...))`, an index condition: two index reads OR-ed, whatever the table holds."""
    make_ticket(title="Mine")
    _others_tickets(cast.other_client, 400)
    qs = ticket_list(TicketPolicy(cast.client), TicketFilter())[:20]

    assert "= ANY(ARRAY(SELECT" in str(qs.query)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan TO off")  # a test-sized table is cheaper to scan
        plan = qs.explain()
    assert "BitmapOr" in plan and "ticket_author_modified" in plan, plan
