"""Staff pages for merging and linking tickets (issue 18): the merge with its confirmation, the links panel,
and what a merged ticket's old address answers."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from otklik.core.errors import DomainError, NotFound, ReadOnlyAccess
from otklik.tickets import selectors, services
from otklik.tickets.link_selectors import ADD_KINDS, merge_chain_end, ticket_links
from otklik.tickets.models import Ticket
from otklik.tickets.policies import TicketPolicy
from otklik.tickets.services.merge import merge_target_check, merge_target_find
from otklik.tickets.views.common import domain_errors, require_staff_view

# The add form's choices, said from the side of the ticket on the page.
ADD_KIND_LABELS = {
    "parent": gettext_lazy("Parent of this ticket"),
    "child": gettext_lazy("Child of this ticket"),
    "related": gettext_lazy("Related ticket"),
    "duplicate_of": gettext_lazy("Original: this one is its duplicate (closes it)"),
}


def merged_answer(
    request: HttpRequest, policy: TicketPolicy, ticket: Ticket, page: str
) -> HttpResponse | None:
    """Answer the old address of a merged ticket, or None for a ticket that was not merged.

    A user who may see the ticket it was merged into is sent there for good (301, `page` names the URL);
    anyone else gets a plain notice that names only its number: nothing of the other ticket leaks.
    """
    if ticket.merged_into_id is None:
        return None
    end = merge_chain_end(ticket)
    if end.pk != ticket.pk and policy.can_view(end):
        return HttpResponsePermanentRedirect(reverse(page, args=[end.pk]))
    return render(
        request,
        "tickets/merged_notice.html",
        {"ticket": ticket, "target_id": end.pk if end.pk != ticket.pk else ticket.merged_into_id},
    )


def links_panel(policy: TicketPolicy, ticket: Ticket) -> dict:
    """Return what the side panel's "Links" section shows: the links (one query) and the add form's kinds."""
    return {
        "rows": ticket_links(ticket, policy),
        "kinds": [(kind, ADD_KIND_LABELS[kind]) for kind in ADD_KINDS],
        "can_edit": not policy.is_demo and policy.is_support and policy.works_ticket(ticket),
        "can_merge": not policy.is_demo and policy.is_support and ticket.merged_into_id is None,
    }


def _links_answer(
    request: HttpRequest, policy: TicketPolicy, ticket: Ticket, error: str = ""
) -> HttpResponse:
    """Answer a links form: the section alone for htmx, else back to the ticket page with a message."""
    if not request.htmx:
        if error:
            messages.error(request, error)
        return redirect("tickets:staff_detail", ticket_id=ticket.pk)
    context = {"ticket": ticket, "links": links_panel(policy, ticket), "links_error": error}
    return render(request, "tickets/_ticket_links.html", context, status=400 if error else 200)


@require_POST
@domain_errors
def staff_link_add(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Link another ticket to this one (kind + number); a duplicate closes this ticket, so the page reloads."""
    policy = require_staff_view(request)
    ticket = selectors.ticket_get(policy, ticket_id)
    kind = request.POST.get("kind", "")
    try:
        services.ticket_link_add(
            actor=request.user, ticket=ticket, other=request.POST.get("ticket", ""), kind=kind
        )
    except ReadOnlyAccess:
        raise
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        return _links_answer(request, policy, ticket, exc.text())
    messages.success(request, _("The tickets are linked."))
    if kind == "duplicate_of" and request.htmx:
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"  # the ticket is closed now: the whole page changes
        return response
    return _links_answer(request, policy, selectors.ticket_get(policy, ticket.pk))


@require_POST
@domain_errors
def staff_link_remove(request: HttpRequest, ticket_id: int, link_id: int) -> HttpResponse:
    """Remove one link of the ticket (either direction)."""
    policy = require_staff_view(request)
    ticket = selectors.ticket_get(policy, ticket_id)
    services.ticket_link_remove(actor=request.user, ticket=ticket, link=link_id)
    if not request.htmx:
        messages.success(request, _("The link is removed."))
    return _links_answer(request, policy, ticket)


@require_http_methods(["GET", "POST"])
@domain_errors
def staff_merge(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Merge this ticket into another: ask for its number, show both tickets to confirm, then merge.

    Merging cannot be undone, so the target is named by title and author before the last step.
    """
    policy = require_staff_view(request)
    ticket = selectors.ticket_get(policy, ticket_id)
    policy.require(not policy.is_demo)
    wanted = (request.POST.get("into") if request.method == "POST" else request.GET.get("into")) or ""
    wanted = wanted.strip().lstrip("#")
    error = ""
    target = None
    if wanted:
        if not wanted.isdigit():
            error = _("Enter a ticket number.")
        else:
            target = merge_target_find(policy, wanted)
            try:
                merge_target_check(policy, ticket, target, wanted)
            except ReadOnlyAccess:
                raise
            except DomainError as exc:
                error, target = exc.text(), None
    if request.method == "POST" and target is not None and not error:
        try:
            merged_into = services.ticket_merge(actor=request.user, ticket=ticket, into=target)
        except ReadOnlyAccess:
            raise
        except DomainError as exc:
            error, target = exc.text(), None
        else:
            messages.success(
                request,
                _("Ticket #%(id)s is merged into this one.") % {"id": ticket.pk},
            )
            return redirect("tickets:staff_detail", ticket_id=merged_into.pk)
    elif request.method == "POST" and not error:
        error = _("Enter a ticket number.")
    return render(
        request,
        "tickets/staff_merge.html",
        {"ticket": ticket, "target": target, "wanted": wanted, "error": error},
        status=400 if error else 200,
    )
