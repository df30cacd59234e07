"""The CC card of the ticket pages (P3): the copied addresses, the form to add and remove them, the followers."""

from __future__ import annotations

from django import template

from otklik.tickets.cc_selectors import ticket_cc_list, ticket_follower_list
from otklik.tickets.policies import TicketPolicy
from otklik.tickets.services.cc import CC_MAX, cc_may_manage

register = template.Library()


def cc_card_context(
    request, ticket, *, errors: list[str] | None = None, value: str = "", followers: list | None = None
) -> dict:
    """Return what the CC card shows; the views render the same card after a change (htmx).

    `followers`: the ticket's followers when the page has read them already.
    """
    policy = getattr(request, "_ticket_policy", None)
    if policy is None or policy.user is not request.user:
        policy = TicketPolicy(request.user)
    copies = ticket_cc_list(policy, ticket)
    manage = cc_may_manage(policy, ticket)
    return {
        "ticket": ticket,
        "copies": copies,
        "followers": (followers if followers is not None else ticket_follower_list(policy, ticket))
        if policy.sees_support_view
        else [],
        "staff_page": policy.sees_support_view,
        "cc_manage": manage,
        "cc_room": manage and len(copies) < CC_MAX,
        "cc_mine": {c.email for c in copies if c.user_id is not None and c.user_id == request.user.pk},
        "cc_errors": errors or [],
        "cc_value": value,
        "request": request,
    }


@register.inclusion_tag("tickets/_cc_card.html", takes_context=True)
def cc_card(context, ticket):
    """Render the CC card of `ticket` for the request's user."""
    result = cc_card_context(context["request"], ticket, followers=context.get("ticket_followers"))
    result["csrf_token"] = context.get("csrf_token")
    return result
