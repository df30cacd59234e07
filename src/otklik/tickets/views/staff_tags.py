"""Tags on the staff pages (P4): the side panel's tags row saved in place, and the names suggested as one types."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from otklik.core.errors import ValidationFailed
from otklik.tickets import selectors, services
from otklik.tickets.models import Ticket
from otklik.tickets.policies import TicketPolicy
from otklik.tickets.tag_selectors import tag_filter_names, tag_suggest, ticket_tags
from otklik.tickets.views.common import domain_errors, require_staff_view

# What the suggestion request reads of the typed text (a tag is at most 50 characters; a filter holds ten).
SUGGEST_QUERY_MAX = 600


def tags_panel(policy: TicketPolicy, ticket: Ticket) -> dict:
    """Return what the side panel's tags row shows: the tags (no query when the ticket came annotated)."""
    return {
        "tags": ticket_tags(ticket),
        "can_edit": not policy.is_demo and policy.is_support and policy.works_ticket(ticket),
    }


@require_POST
@domain_errors
def staff_tags(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Add the typed tags (`add`, commas allowed) or remove one (`remove`); answer the tags row (htmx).

    Without htmx the ticket page is shown again. A refused name keeps what was typed and says why.
    """
    policy = require_staff_view(request)
    ticket = selectors.ticket_get(policy, ticket_id)
    typed = request.POST.get("add", "")
    error = ""
    try:
        services.ticket_tags_change(
            actor=request.user,
            ticket=ticket,
            add=tag_filter_names([typed]),
            remove=[name for name in request.POST.getlist("remove") if name.strip()],
        )
    except ValidationFailed as exc:
        error = exc.text()
    else:
        typed = ""
    if not request.htmx:
        if error:
            messages.error(request, error)
        return redirect("tickets:staff_detail", ticket_id=ticket.pk)
    ticket = selectors.ticket_get(policy, ticket.pk)
    context = {
        "ticket": ticket,
        "tags_row": tags_panel(policy, ticket),
        "tag_error": error,
        "tag_typed": typed,
    }
    return render(request, "tickets/_ticket_tags.html", context, status=400 if error else 200)


@require_GET
@domain_errors
def tags_suggest(request: HttpRequest) -> HttpResponse:
    """Answer up to ten tag names matching `q` as <option>s (a datalist), those starting with it first.

    In a comma-separated list (the list's filter, the bulk action) only the last name is completed; each
    option repeats the names before it, so choosing one keeps them.
    """
    require_staff_view(request)
    # The typing field sends its own name: the ticket page's "add", the list's filter and bulk bar "tag".
    text = next((request.GET[k] for k in ("q", "add", "tag") if k in request.GET), "")[:SUGGEST_QUERY_MAX]
    head, _sep, last = text.rpartition(",")
    earlier = tag_filter_names([head])
    prefix = ", ".join(earlier) + ", " if earlier else ""
    taken = {name.casefold() for name in earlier}
    names = [name for name in tag_suggest(last) if name.casefold() not in taken]
    return render(request, "tickets/_tag_options.html", {"options": [prefix + name for name in names]})


def tag_filter_chips(request: HttpRequest, label: object) -> list[tuple[str, str, str]]:
    """Return the list's chips for the tag filter: one a tag, each linking to the list without that tag."""
    names = tag_filter_names(request.GET.getlist("tag"))
    chips = []
    for name in names:
        rest = [other for other in names if other != name]
        pairs = [
            (key, value)
            for key, values in request.GET.lists()
            if key not in ("tag", "page", "live")
            for value in values
        ]
        pairs += [("tag", other) for other in rest]
        chips.append(("tag", f"{label}: {name}", urlencode(pairs)))
    return chips
