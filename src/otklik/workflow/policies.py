"""WorkflowPolicy: who may take which move of the support process, vote, and see its insides (F-30).

Built on TicketPolicy (one per request): the ticket must be visible first. A move belongs to the role
that must act in the ticket's state, and the transition must name a role the user holds; a support admin
may take any move (it is logged as such). Clients never take moves and see only the plain-language stage.
"""

from __future__ import annotations

from functools import cached_property

from django.contrib.auth.models import AnonymousUser, User

from otklik.tickets.models import Ticket
from otklik.tickets.policies import TicketPolicy
from otklik.workflow.definition import Process, State, Transition
from otklik.workflow.models import TicketProcess
from otklik.workflow.selectors import role_codes_of

ADMIN = "admin"


class WorkflowPolicy:
    """Answer "may this user move or vote on this ticket" for one user (build one per request)."""

    def __init__(self, user: User | AnonymousUser, ticket_policy: TicketPolicy | None = None):
        self.user = user
        self.tickets = ticket_policy or TicketPolicy(user)

    @cached_property
    def roles(self) -> frozenset[str]:
        """Return the codes of the roles this user holds (directly or through a group)."""
        if not isinstance(self.user, User) or not self.tickets.is_support:
            return frozenset()
        return role_codes_of(self.user)

    @property
    def is_admin(self) -> bool:
        return self.tickets.is_admin

    @property
    def sees_inside(self) -> bool:
        """Staff see states, roles, moves and votes; clients see the stage only."""
        return self.tickets.sees_support_view

    def holds(self, role: str) -> bool:
        return bool(role) and role in self.roles

    def acts_as(self, place: TicketProcess, transition: Transition) -> str | None:
        """Return the role the user would take `transition` as, "admin" for an admin standing in, or None."""
        if self.holds(place.role) and place.role in transition.roles:
            return place.role
        if self.holds(place.role) and set(transition.roles) & self.roles:
            return place.role
        if self.is_admin:
            return ADMIN
        return None

    def moves(self, process: Process, place: TicketProcess, ticket: Ticket) -> list[Transition]:
        """Return the transitions this user may take now (none on a ticket they cannot see)."""
        if not self.tickets.is_support or not self.tickets.can_view(ticket):
            return []
        return [t for t in process.transitions_from(place.state) if self.acts_as(place, t) is not None]

    def may_vote(self, state: State | None, place: TicketProcess) -> bool:
        """Members of the state's role vote while a vote is open (admins decide, they do not vote)."""
        return state is not None and state.votes and self.holds(state.role) and place.role == state.role
