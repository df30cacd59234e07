"""The ticket's derived "awaits support" state and deadline source (F-08 first paragraph)."""

from datetime import UTC, datetime

from otklik.core import clock
from otklik.tickets import services

T0 = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)


def test_recompute_reopen_after_answer_awaits_from_reopen_even_after_hidden_note(cast, make_ticket):
    with clock.frozen(T0) as moment:
        ticket = make_ticket()
        moment.advance(hours=1)
        services.message_post(actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="Answer"))
        moment.advance(hours=1)
        services.ticket_close(actor=cast.client, ticket=ticket)
        moment.advance(hours=1)
        reopened = moment.advance(minutes=0)
        services.ticket_reopen(actor=cast.client, ticket=ticket)
        moment.advance(minutes=10)
        services.message_post(
            actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="looking", hidden=True)
        )
    ticket.refresh_from_db()
    assert ticket.awaits_support is True
    assert ticket.deadline_source_at == reopened


def test_recompute_client_reply_after_answer_restarts_from_reply(cast, make_ticket):
    with clock.frozen(T0) as moment:
        ticket = make_ticket()
        moment.advance(hours=2)
        services.message_post(actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="Answer"))
        reply_at = moment.advance(hours=3)
        services.message_post(
            actor=cast.client, ticket=ticket, draft=services.MessageDraft(body="Still broken")
        )
        moment.advance(hours=1)
        services.message_post(actor=cast.client, ticket=ticket, draft=services.MessageDraft(body="Any news?"))
    ticket.refresh_from_db()
    assert ticket.awaits_support and ticket.first_client_message_after_support_at == reply_at
    assert ticket.deadline_source_at == reply_at


def test_recompute_support_answer_clears_waiting_and_overdue_flags(cast, make_ticket):
    ticket = make_ticket()
    ticket.is_overdue = True
    ticket.reminder_sent = True
    ticket.overdue_count = 1
    ticket.save()
    services.message_post(actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="Answer"))
    ticket.refresh_from_db()
    assert not ticket.awaits_support and not ticket.is_overdue and not ticket.reminder_sent
    assert ticket.overdue_count == 1 and ticket.deadline_source_at is None


def test_recompute_no_status_message_is_not_an_answer(cast, make_ticket):
    ticket = make_ticket()
    services.message_post(
        actor=cast.staff,
        ticket=ticket,
        draft=services.MessageDraft(body="We are on it", not_change_status=True),
    )
    ticket.refresh_from_db()
    assert ticket.awaits_support and not ticket.last_message_by_support
    assert ticket.message_count == 2


def test_recompute_overdue_keeps_deadline_source_until_answer(cast, make_ticket):
    with clock.frozen(T0) as moment:
        ticket = make_ticket()
        ticket.is_overdue = True
        ticket.save()
        moment.advance(hours=5)
        services.message_post(actor=cast.client, ticket=ticket, draft=services.MessageDraft(body="Hello?"))
    ticket.refresh_from_db()
    assert ticket.deadline_source_at == T0
