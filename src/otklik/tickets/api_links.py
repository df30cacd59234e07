"""API: merge a ticket into another, and its links (issue 18, P1 and P2).

Thin like the rest of the tickets API: parse, call the service, shape the answer. Mounted beside the
tickets router by `otklik.api.api`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from otklik.core.api_errors import ErrorOut
from otklik.core.errors import PermissionDenied
from otklik.tickets import selectors, services
from otklik.tickets.api import ticket_detail_after_write
from otklik.tickets.api_schemas import Id, StrictIn, TicketDetailOut
from otklik.tickets.link_selectors import LinkRow, ticket_links
from otklik.tickets.models import Channel
from otklik.tickets.policies import TicketPolicy

router = Router(tags=["tickets"])


def _errors(*codes: int) -> dict[int, type[ErrorOut]]:
    return {code: ErrorOut for code in codes}


WRITE_ERRORS = _errors(400, 401, 403, 404, 413, 422)


class MergeIn(StrictIn):
    into: Id = Field(..., description="The number of the ticket to merge this one into.")


class LinkIn(StrictIn):
    kind: Literal["parent", "child", "related", "duplicate_of"] = Field(
        ...,
        description="What `ticket` becomes to this ticket: its parent, its child, a related ticket; "
        "duplicate_of marks this ticket a duplicate of `ticket` and closes it.",
    )
    ticket: Id = Field(..., description="The other ticket's number.")


class LinkedTicketOut(Schema):
    id: int
    title: str
    is_open: bool
    closed_at: datetime | None
    status: str | None


class LinkOut(Schema):
    """One link read from this ticket's side: `kind` says what the other ticket is to it."""

    id: int
    kind: Literal["parent", "child", "related", "duplicate_of", "duplicated_by"]
    label: str
    ticket: LinkedTicketOut


def _link(row: LinkRow) -> dict:
    other = row.other
    return {
        "id": row.id,
        "kind": row.kind,
        "label": row.label,
        "ticket": {
            "id": other.pk,
            "title": other.title,
            "is_open": other.closed_at is None,
            "closed_at": other.closed_at,
            "status": other.status.name if other.status_id else None,
        },
    }


def _staff_policy(request: HttpRequest) -> TicketPolicy:
    policy = TicketPolicy(request.user)
    if not policy.sees_support_view:
        raise PermissionDenied()
    return policy


@router.post(
    "/tickets/{int:ticket_id}/merge",
    response={200: TicketDetailOut, **WRITE_ERRORS},
    exclude_unset=True,
    summary="Merge a ticket into another",
)
def ticket_merge(request: HttpRequest, ticket_id: int, payload: MergeIn):
    """Merge this ticket into `into` and answer the target: staff who work both merge tickets of one
    author, support admins any two. The merged ticket is closed; GET on it names `merged_into`."""
    policy = TicketPolicy(request.user)
    ticket = selectors.ticket_get(policy, ticket_id)
    target = services.ticket_merge(actor=request.user, ticket=ticket, into=payload.into, via=Channel.API)
    return ticket_detail_after_write(policy, target)


@router.get(
    "/tickets/{int:ticket_id}/links",
    response={200: list[LinkOut], **_errors(401, 403, 404)},
    summary="Links of a ticket",
)
def link_list(request: HttpRequest, ticket_id: int):
    """List the ticket's links in both directions whose other ticket the caller may see (staff only)."""
    policy = _staff_policy(request)
    ticket = selectors.ticket_get(policy, ticket_id)
    return [_link(row) for row in ticket_links(ticket, policy)]


@router.post(
    "/tickets/{int:ticket_id}/links",
    response={201: LinkOut, **WRITE_ERRORS},
    summary="Link a ticket",
)
def link_add(request: HttpRequest, ticket_id: int, payload: LinkIn):
    """Link another ticket to this one; answer the new link as read from this ticket's side."""
    policy = TicketPolicy(request.user)
    ticket = selectors.ticket_get(policy, ticket_id)
    link = services.ticket_link_add(
        actor=request.user, ticket=ticket, other=payload.ticket, kind=payload.kind, via=Channel.API
    )
    row = next(row for row in ticket_links(ticket, policy) if row.id == link.pk)
    return Status(201, _link(row))


@router.delete(
    "/tickets/{int:ticket_id}/links/{int:link_id}",
    response={204: None, **_errors(401, 403, 404)},
    summary="Remove a link",
)
def link_remove(request: HttpRequest, ticket_id: int, link_id: int):
    """Remove one of the ticket's links (either direction); a closed duplicate stays closed."""
    policy = TicketPolicy(request.user)
    ticket = selectors.ticket_get(policy, ticket_id)
    services.ticket_link_remove(actor=request.user, ticket=ticket, link=link_id, via=Channel.API)
    return Status(204, None)
