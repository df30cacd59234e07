"""Staff file a ticket for someone (phone calls, walk-ins): the page and its author search (issue 17)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from otklik.accounts.selectors import (
    AUTHOR_QUERY_MAX,
    AUTHOR_SEARCH_MIN,
    author_by_email,
    author_search,
    support_user_list,
)
from otklik.core.errors import PermissionDenied, ValidationFailed
from otklik.tickets import selectors, services
from otklik.tickets.policies import TicketPolicy
from otklik.tickets.staff_new_forms import StaffTicketForm
from otklik.tickets.views.common import domain_errors, policy_for, uploads_from
from otklik.ui.forms import apply_errors


def _filer(request: HttpRequest) -> TicketPolicy:
    """Return the policy of a support member who may file tickets; anyone else is refused."""
    policy = policy_for(request)
    if not policy.sees_support_view:
        raise PermissionDenied(_("The staff workspace is for support staff."))
    policy.require(policy.can_create() and policy.is_support)
    return policy


@require_http_methods(["GET", "POST"])
@domain_errors
def staff_new(request: HttpRequest) -> HttpResponse:
    """File a ticket as staff for a client found by typing, or for a new client's e-mail address."""
    _filer(request)
    form = StaffTicketForm(
        request.POST or None,
        request.FILES or None,
        viewer=request.user,
        dictionaries=selectors.dictionaries_for_forms(),
        support_users=list(support_user_list()),
    )
    if request.method == "POST" and form.is_valid():
        try:
            ticket = services.ticket_create(
                actor=request.user,
                draft=form.ticket_draft(uploads_from(request)),
                staff=form.staff_fields(),
                origin=form.origin(),
            )
        except ValidationFailed as exc:
            apply_errors(form, exc)
            if "author" in exc.errors:  # the service names the picker's hidden field; show it on the input
                form.add_error("author_query", exc.errors["author"])
        else:
            messages.success(request, _("Ticket #%(id)s is created.") % {"id": ticket.pk})
            return redirect("tickets:staff_detail", ticket_id=ticket.pk)
    author_label = form.author_label() if form.is_bound and hasattr(form, "cleaned_data") else ""
    return render(
        request,
        "tickets/staff_new_ticket.html",
        {"form": form, "author_label": author_label, "search_min": AUTHOR_SEARCH_MIN},
        status=400 if form.errors else 200,
    )


@require_GET
@domain_errors
def staff_new_authors(request: HttpRequest) -> HttpResponse:
    """Answer the author picker: up to ten people this member of staff may file for, as listbox options.

    An address that matches nobody they may see is offered as a new client. Never more than the picker's
    selector lets them list: a client or demo access gets 403.
    """
    policy = policy_for(request)
    if not (policy.is_support and policy.can_create()):
        raise PermissionDenied(_("Only support staff may file tickets for others."))
    query = " ".join((request.GET.get("q") or request.GET.get("author_query") or "").split())
    query = query[:AUTHOR_QUERY_MAX]
    people = author_search(request.user, query)
    new_address = ""
    if "@" in query:
        address = query.lower()
        try:
            validate_email(address)
        except DjangoValidationError:
            pass
        else:
            if not author_by_email(request.user, address):
                new_address = address
    return render(
        request,
        "tickets/_author_options.html",
        {
            "people": people,
            "new_address": new_address,
            "query": query,
            "too_short": 0 < len(query) < AUTHOR_SEARCH_MIN,
            "search_min": AUTHOR_SEARCH_MIN,
        },
    )
