"""API: a ticket's tags (issue 18, P4) — read them, or replace them with a list of names.

Thin like the rest of the tickets API: parse, call the service, shape the answer. Tags are staff-only:
a client who sees the ticket is refused (403), a ticket the caller cannot see is a 404. Mounted beside
the tickets router by `otklik.api.api`.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Body, Router

from otklik.core.api_errors import ErrorOut
from otklik.core.errors import PermissionDenied
from otklik.tickets import selectors, services
from otklik.tickets.models import Channel, Ticket
from otklik.tickets.policies import TicketPolicy
from otklik.tickets.tag_selectors import ticket_tag_names_shown

router = Router(tags=["tickets"])


def _errors(*codes: int) -> dict[int, type[ErrorOut]]:
    return {code: ErrorOut for code in codes}


def _staff_ticket(request: HttpRequest, ticket_id: int) -> tuple[TicketPolicy, Ticket]:
    """Return the caller's policy and the visible ticket; refuse callers who do not see staff data."""
    policy = TicketPolicy(request.user)
    ticket = selectors.ticket_get(policy, ticket_id)
    if not policy.sees_support_view:
        raise PermissionDenied(_("Tags are for support staff."), field="tags")
    return policy, ticket


@router.get(
    "/tickets/{int:ticket_id}/tags",
    response={200: list[str], **_errors(401, 403, 404)},
    summary="List a ticket's tags",
)
def ticket_tags_get(request: HttpRequest, ticket_id: int):
    """Answer the ticket's tag names, sorted regardless of letter case (staff only)."""
    _policy, ticket = _staff_ticket(request, ticket_id)
    return ticket_tag_names_shown(ticket)


@router.put(
    "/tickets/{int:ticket_id}/tags",
    response={200: list[str], **_errors(400, 401, 403, 404, 413, 422)},
    summary="Replace a ticket's tags",
)
def ticket_tags_put(request: HttpRequest, ticket_id: int, payload: Body[list[str]]):
    """Make the ticket's tags exactly the given names and answer them, sorted.

    Names are trimmed, repeats dropped regardless of letter case; unknown names become new tags. Staff who
    work the ticket only; an empty list removes every tag. A bad name is a 422 naming the field `tags`.
    """
    _policy, ticket = _staff_ticket(request, ticket_id)
    return services.ticket_tags_set(actor=request.user, ticket=ticket, names=payload, via=Channel.API)
