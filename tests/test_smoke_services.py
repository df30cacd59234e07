from otklik.tickets import services
from otklik.tickets.models import MessageKind
from otklik.tickets.policies import TicketPolicy
from otklik.tickets.selectors import TicketFilter, ticket_list


def test_ticket_lifecycle_client_staff_client(cast, make_ticket):
    ticket = make_ticket()
    assert ticket.awaits_support and ticket.message_count == 1
    services.message_post(
        actor=cast.staff,
        ticket=ticket,
        draft=services.MessageDraft(body="Internal: check nginx", hidden=True),
    )
    services.message_post(
        actor=cast.staff, ticket=ticket, draft=services.MessageDraft(body="Please clear the cache")
    )
    ticket.refresh_from_db()
    assert ticket.last_message_by_support and not ticket.awaits_support
    kinds = [m.kind for m in TicketPolicy(cast.client).messages(ticket)]
    assert MessageKind.HIDDEN not in kinds and MessageKind.LOG not in kinds
    found = ticket_list(TicketPolicy(cast.client), TicketFilter(q="nginx"))
    assert list(found) == []
    found = ticket_list(TicketPolicy(cast.staff), TicketFilter(q="nginx"))
    assert list(found) == [ticket]
