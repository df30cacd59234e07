"""API: a ticket's copies (CC, P3) — list, add and remove addresses.

Answers name addresses and when they were added, never whether an address has an account. The rules
(who may, valid addresses, the limit, never the author's own address) are the service's, as on the web.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from otklik.core.api_errors import ErrorOut
from otklik.core.errors import NotFound, ValidationFailed
from otklik.core.text_input import Text
from otklik.tickets import selectors, services
from otklik.tickets.api_schemas import StrictIn
from otklik.tickets.cc_selectors import ticket_cc_list
from otklik.tickets.models import Channel, Ticket
from otklik.tickets.policies import TicketPolicy
from otklik.tickets.services.cc import CC_EMAIL_MAX, CC_INPUT_MAX

router = Router(tags=["tickets"])
Address = Annotated[Text, Field(max_length=CC_EMAIL_MAX)]


class CcOut(Schema):
    email: str
    added_at: datetime


class CcChangeIn(StrictIn):
    emails: list[Address] = Field(
        default_factory=list, max_length=CC_INPUT_MAX, description="Addresses to copy on the ticket."
    )
    remove: list[Address] = Field(
        default_factory=list, max_length=CC_INPUT_MAX, description="Addresses to copy no longer."
    )


def _errors(*codes: int) -> dict[int, type[ErrorOut]]:
    return {code: ErrorOut for code in codes}


def _listed(policy: TicketPolicy, ticket: Ticket) -> list[dict]:
    return [{"email": c.email, "added_at": c.created_at} for c in ticket_cc_list(policy, ticket)]


@router.get(
    "/tickets/{int:ticket_id}/cc",
    response={200: list[CcOut], **_errors(401, 404)},
    summary="The ticket's copies (CC)",
)
def ticket_cc_get(request: HttpRequest, ticket_id: int):
    """List the addresses copied on the ticket, in the order they were added."""
    policy = TicketPolicy(request.user)
    return _listed(policy, selectors.ticket_get(policy, ticket_id))


@router.post(
    "/tickets/{int:ticket_id}/cc",
    response={200: list[CcOut], **_errors(400, 401, 403, 404, 413, 422)},
    summary="Add or remove copies (CC)",
)
def ticket_cc_post(request: HttpRequest, ticket_id: int, payload: CcChangeIn):
    """Copy the `emails` on the ticket and copy the `remove` addresses no longer, all or nothing.

    The author and staff who work the ticket may; the author's own address, invalid addresses and more
    than 20 copies are refused (422, with the field's message). Answer the list as it is now.
    """
    policy = TicketPolicy(request.user)
    ticket = selectors.ticket_get(policy, ticket_id)
    if not payload.emails and not payload.remove:
        raise ValidationFailed(_("Give the addresses to add (emails) or to remove (remove)."), field="emails")
    with transaction.atomic():
        for email in payload.remove:
            try:
                services.ticket_cc_remove(actor=request.user, ticket=ticket, email=email, via=Channel.API)
            except NotFound as exc:
                raise ValidationFailed(exc.message, field="remove") from None
        if payload.emails:
            services.ticket_cc_add(actor=request.user, ticket=ticket, emails=payload.emails, via=Channel.API)
    return _listed(policy, ticket)


@router.delete(
    "/tickets/{int:ticket_id}/cc/{email}",
    response={204: None, **_errors(401, 403, 404)},
    summary="Remove one copy (CC)",
)
def ticket_cc_delete(request: HttpRequest, ticket_id: int, email: str):
    """Copy the address on the ticket no longer (404 when it is not copied)."""
    policy = TicketPolicy(request.user)
    ticket = selectors.ticket_get(policy, ticket_id)
    services.ticket_cc_remove(
        actor=request.user, ticket=ticket, email=email[: CC_EMAIL_MAX + 1], via=Channel.API
    )
    return Status(204, None)
