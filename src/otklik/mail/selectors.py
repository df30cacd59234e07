"""Reads of incoming mail for the pages: the original a ticket's message came from."""

from __future__ import annotations

from otklik.core.errors import NotFound
from otklik.mail.models import InboundMail
from otklik.tickets.models import Message
from otklik.tickets.policies import TicketPolicy


def message_original_get(policy: TicketPolicy, message_id: int) -> InboundMail:
    """Return the incoming mail a message was made from; support who may see the message only (else NotFound)."""
    message = Message.objects.select_related("ticket").filter(pk=message_id).first()
    if (
        message is None
        or not policy.is_support
        or not policy.can_view(message.ticket)
        or not policy.can_view_message(message)
    ):
        raise NotFound()
    original = InboundMail.objects.filter(ticket_message_id=message.pk).first()
    if original is None:
        raise NotFound()
    return original
