"""core.bulk: the multi-row INSERT of hot paths and PostgreSQL's pipeline, on both databases."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from otklik.core import clock
from otklik.core.bulk import insert_rows, pipelined, update_row
from otklik.notifications.models import OutboxMessage
from otklik.tickets.models import Message, ModuleOptions, Ticket, TicketEvent

pytestmark = pytest.mark.django_db


def _outbox(n: int) -> list[OutboxMessage]:
    now = clock.now()
    return [
        OutboxMessage(
            event="ticket_reminder",
            ticket_id=7,
            language="ru",
            from_email="support@example.com",
            to=[f"to{i}@example.com"],
            names={f"to{i}@example.com": "Иван «Ромашка»"},
            subject=f"Письмо {i}",
            body_text="Текст\nс переводом строки и кавычками ' \"",
            message_id=f"<bulk.{i}@example.com>",
            created_at=now,
            next_attempt_at=now,
        )
        for i in range(n)
    ]


def test_insert_rows_many_rows_one_statement_pks_in_order_and_values_read_back():
    rows = _outbox(3)
    with CaptureQueriesContext(connection) as captured:
        insert_rows(rows)
    assert [q["sql"].split()[0] for q in captured.captured_queries] == ["INSERT"]
    assert all(r.pk for r in rows) and not rows[0]._state.adding
    stored = {r.pk: r for r in OutboxMessage.objects.all()}
    for row in rows:
        again = stored[row.pk]
        # JSON, defaults of the model (state, attempts) and dates come back as the ORM stores them.
        assert (again.to, again.names, again.message_id) == (row.to, row.names, row.message_id)
        assert (again.subject, again.body_text) == (row.subject, row.body_text)
        assert again.state == "pending" and again.attempts == 0 and again.cc == []
        assert again.created_at == row.created_at


def test_insert_rows_without_returning_leaves_pk_unset_and_stores_the_row(cast, make_ticket):
    ticket = make_ticket()
    event = TicketEvent(ticket=ticket, actor=cast.staff, at=clock.now(), via="web", field="note", new="x")
    insert_rows([event], returning=False)
    assert event.pk is None
    assert TicketEvent.objects.filter(ticket=ticket, field="note", new="x", actor=cast.staff).count() == 1


def test_insert_rows_refuses_configuration_models():
    with pytest.raises(ValueError, match="configuration"):
        insert_rows([ModuleOptions(pk=2)])


def test_insert_rows_nothing_to_insert_runs_no_query():
    with CaptureQueriesContext(connection) as captured:
        insert_rows([])
    assert captured.captured_queries == []


@pytest.mark.django_db(transaction=True)
def test_pipelined_error_surfaces_and_the_transaction_rolls_back(cast, make_ticket):
    ticket = make_ticket()
    duplicate = Message(ticket=ticket, number=1, kind="public", body="twin", created_at=clock.now())
    before = (Ticket.objects.count(), Message.objects.count(), TicketEvent.objects.count())
    with pytest.raises(IntegrityError), transaction.atomic(), pipelined():
        insert_rows([TicketEvent(ticket=ticket, at=clock.now(), via="web", field="note")], returning=False)
        insert_rows([duplicate], returning=False)  # (ticket, number) is unique: fails at the block's end
    assert (Ticket.objects.count(), Message.objects.count(), TicketEvent.objects.count()) == before
    # The connection is usable afterwards, in and out of a pipeline.
    with transaction.atomic(), pipelined():
        insert_rows([TicketEvent(ticket=ticket, at=clock.now(), via="web", field="note")], returning=False)
    assert TicketEvent.objects.count() == before[2] + 1


def test_pipelined_statements_read_inside_still_get_their_results(cast, make_ticket):
    ticket = make_ticket()
    with pipelined():
        insert_rows([TicketEvent(ticket=ticket, at=clock.now(), via="web", field="note")], returning=False)
        rows = _outbox(2)
        insert_rows(rows)  # RETURNING: waits, and the event queued before it goes in the same round trip
        assert all(r.pk for r in rows)
        assert TicketEvent.objects.filter(ticket=ticket, field="note").count() == 1


# -- update_row --------------------------------------------------------------------------------------------------
def test_update_row_writes_only_the_named_columns_with_the_fields_own_conversions():
    rows = _outbox(2)
    insert_rows(rows)
    row = rows[0]
    OutboxMessage.objects.filter(pk=row.pk).update(subject="Changed by someone else")
    row.names = {"a@example.com": "Анна «Ромашка»"}
    row.next_attempt_at = clock.now()
    row.subject = "Not written: not named"

    with CaptureQueriesContext(connection) as captured:
        changed = update_row(row, ["names", "next_attempt_at"])

    assert changed == 1 and len(captured.captured_queries) == 1
    again = OutboxMessage.objects.get(pk=row.pk)
    assert again.names == row.names and again.next_attempt_at == row.next_attempt_at  # JSON and dates
    assert again.subject == "Changed by someone else"
    assert OutboxMessage.objects.get(pk=rows[1].pk).names == rows[1].names  # its neighbour untouched


def test_update_row_only_if_is_a_claim_that_leaves_a_changed_row_alone():
    (row,) = _outbox(1)
    insert_rows([row])
    row.attempts = 5
    assert update_row(row, ["attempts"], only_if=("state", ["pending", "sending"])) == 1
    OutboxMessage.objects.filter(pk=row.pk).update(state="sent")
    row.attempts = 9
    assert update_row(row, ["attempts"], only_if=("state", ["pending", "sending"])) == 0
    assert OutboxMessage.objects.get(pk=row.pk).attempts == 5


def test_update_row_refuses_configuration_models():
    options = ModuleOptions.objects.get_or_create(pk=1)[0]
    with pytest.raises(ValueError, match="configuration"):
        update_row(options, ["mail_max_size_mb"])
