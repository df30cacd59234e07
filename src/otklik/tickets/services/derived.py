"""Recompute a ticket's derived state and search text from its messages (F-03, F-08 first paragraph)."""

from __future__ import annotations

from otklik.tickets.models import (
    CLIENT_VISIBLE_KINDS,
    Message,
    MessageKind,
    Ticket,
    TicketSearchDocument,
)


def ticket_recompute(ticket: Ticket) -> Ticket:
    """Recompute the ticket's derived state from its messages and save it.

    Last message: the last public message (hidden and "do not change status" messages are not
    answers). Awaits support: open, and no support answer yet or a client message after it.
    """
    conversation = list(
        Message.objects.filter(ticket=ticket, kind__in=CLIENT_VISIBLE_KINDS)
        .order_by("number")
        .values("kind", "author_id", "by_support", "created_at", "minutes")
    )
    ticket.message_count = len(conversation)
    ticket.time_spent_minutes = sum(Message.objects.filter(ticket=ticket).values_list("minutes", flat=True))
    public = [m for m in conversation if m["kind"] == MessageKind.PUBLIC]
    last = public[-1] if public else None
    ticket.last_message_at = last["created_at"] if last else ticket.created_at
    ticket.last_message_by_id = last["author_id"] if last else None
    ticket.last_message_by_support = bool(last and last["by_support"])
    last_support_index = max((i for i, m in enumerate(public) if m["by_support"]), default=None)
    from_creation = bool(ticket.sla_id and ticket.sla and ticket.sla.deadline_from_creation)
    # The clock (re)starts at creation, at a reopen, and at the first client reply after support's answer.
    restarts = [ticket.created_at]
    if last_support_index is None:
        ticket.first_client_message_after_support_at = None
        waiting = True
    else:
        last_support_at = public[last_support_index]["created_at"]
        after = public[last_support_index + 1 :]
        ticket.first_client_message_after_support_at = after[0]["created_at"] if after else None
        reopened_since = ticket.reopened_at is not None and ticket.reopened_at > last_support_at
        waiting = bool(after) or reopened_since
        if after and not from_creation:
            restarts.append(after[0]["created_at"])
    if ticket.reopened_at is not None:
        restarts.append(ticket.reopened_at)
    ticket.awaits_support = ticket.closed_at is None and waiting
    source = max(restarts)
    if not ticket.awaits_support:
        ticket.is_overdue = False
        ticket.reminder_sent = False
        ticket.deadline_source_at = None
    elif not ticket.is_overdue:
        # While overdue the deadline does not move until support answers (F-08).
        ticket.deadline_source_at = source
    ticket.save()
    return ticket


def search_document_refresh(ticket: Ticket) -> None:
    """Rebuild the ticket's search text: clients' view (public) and staff's view (adds hidden; never log)."""
    rows = Message.objects.filter(ticket=ticket).exclude(kind=MessageKind.LOG).values_list("kind", "body")
    public = [ticket.title] + [b for k, b in rows if k in CLIENT_VISIBLE_KINDS]
    staff = [ticket.title] + [b for _k, b in rows]
    TicketSearchDocument.objects.update_or_create(
        ticket=ticket, defaults={"public_text": "\n".join(public), "staff_text": "\n".join(staff)}
    )


# -- create ----------------------------------------------------------------------------------
