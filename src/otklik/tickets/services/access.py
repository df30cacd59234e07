"""Guard a ticket write: the caller's policy (refusing read-only users) and the ticket's row lock."""

from __future__ import annotations

from django.contrib.auth.models import User

from otklik.tickets.models import Ticket
from otklik.tickets.policies import TicketPolicy
from otklik.tickets.selectors import config_relations_attach


def writer_policy(actor: User) -> TicketPolicy:
    """Return the actor's ticket policy, refusing anonymous users and demo access before any write."""
    policy = TicketPolicy(actor)
    policy.check_can_write()
    return policy


# The people a write reads anyway (notifications): joined. Dictionary entries and the SLA come from the
# configuration cache; joining them too costs PostgreSQL more planning than the queries it saves.
LOCK_RELATIONS = ("author__profile", "responsible__profile")


def ticket_lock(ticket: Ticket) -> Ticket:
    """Re-read the ticket under a row lock so concurrent writers serialise (numbers, counters).

    Only the ticket's row is locked (`of`); the people come in the same query, the configuration from
    the cache.
    """
    rows = Ticket.objects.select_for_update(of=("self",)).select_related(*LOCK_RELATIONS)
    return config_relations_attach(rows.get(pk=ticket.pk))
