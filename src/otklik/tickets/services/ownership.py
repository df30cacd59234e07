"""Give the tickets of a confirmed address to its user (F-12)."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction

from otklik.tickets.models import Channel, Message, Ticket
from otklik.tickets.services.history import ChangeSet, history_record


@transaction.atomic
def tickets_claim_by_address(*, user: User, email: str, actor: User | None = None) -> list[int]:
    """Make the address-only tickets of `email` (no author account) the user's; log it on each ticket.

    Called once the address is confirmed for the user, so mail sent from it before belongs to them as
    what they send later will. Messages written from the address become the user's too. Return the ids.
    """
    email = (email or "").strip()
    if not email:
        return []
    tickets = list(
        Ticket.objects.select_for_update()
        .filter(author__isnull=True, author_email__iexact=email)
        .order_by("pk")
    )
    for ticket in tickets:
        changes = ChangeSet()
        changes.add("author", ticket.author_email, user)
        Ticket.objects.filter(pk=ticket.pk).update(author=user)
        ticket.author = user
        Message.objects.filter(ticket=ticket, author__isnull=True, author_email__iexact=email).update(
            author=user
        )
        history_record(ticket, actor or user, Channel.SYSTEM, changes)
    return [t.pk for t in tickets]
