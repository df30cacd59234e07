"""Reads of a ticket's copies (CC) and followers (P3), for the ticket pages and the API."""

from __future__ import annotations

from django.contrib.auth.models import User

from otklik.tickets.models import Ticket, TicketCc, TicketFollower
from otklik.tickets.policies import TicketPolicy


def ticket_cc_list(policy: TicketPolicy, ticket: Ticket) -> list[TicketCc]:
    """Return the ticket's copies in the order they were added; nothing for a ticket the user cannot see.

    Only the addresses and when they were added are read: whether an address has an account is nobody's
    business on these pages.
    """
    if not policy.can_view(ticket):
        return []
    return list(TicketCc.objects.filter(ticket_id=ticket.pk).only("pk", "email", "user_id", "created_at"))


def ticket_follower_list(policy: TicketPolicy, ticket: Ticket) -> list[User]:
    """Return the staff who follow the ticket, by name (support's side panel only)."""
    if not (policy.sees_support_view and policy.can_view(ticket)):
        return []
    follows = TicketFollower.objects.filter(ticket_id=ticket.pk).values("user_id")
    return list(User.objects.filter(pk__in=follows).order_by("first_name", "last_name", "username"))
