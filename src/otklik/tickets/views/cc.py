"""The CC card's form (P3): add and remove copied addresses on the client's and the staff ticket page."""

from __future__ import annotations

import re

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from otklik.core.errors import NotFound, ValidationFailed
from otklik.tickets import selectors, services
from otklik.tickets.templatetags.ticket_cc import cc_card_context
from otklik.tickets.views.common import domain_errors, policy_for

CC_FIELD_MAX = 2000  # the form's input: twenty long addresses and their separators
_SEPARATORS = re.compile(r"[\s,;]+")


def cc_split(text: str) -> list[str]:
    """Split what was typed into addresses: commas, semicolons, blanks and new lines separate them."""
    return [part for part in _SEPARATORS.split(text or "") if part]


@require_POST
@domain_errors
def ticket_cc(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Add addresses (`action=add`, `emails`) or remove one (`action=remove`, `email`); answer the card
    (htmx) or go back to the ticket page with a message."""
    policy = policy_for(request)
    ticket = selectors.ticket_get(policy, ticket_id)
    action = request.POST.get("action", "")
    text = request.POST.get("emails", "")
    errors: list[str] = []
    done = ""
    try:
        if action == "add":
            if len(text) > CC_FIELD_MAX:
                raise ValidationFailed(_("Enter fewer addresses at a time."), field="emails")
            added = services.ticket_cc_add(actor=request.user, ticket=ticket, emails=cc_split(text))
            done = _("Copied: %(emails)s.") % {"emails": ", ".join(c.email for c in added)} if added else ""
            text = ""
        elif action == "remove":
            services.ticket_cc_remove(actor=request.user, ticket=ticket, email=request.POST.get("email", ""))
            done = _("The address is no longer copied.")
        else:
            raise ValidationFailed(_("Unknown action."), field="action")
    except (ValidationFailed, NotFound) as exc:
        if isinstance(exc, NotFound) and not policy.can_view(ticket):
            raise
        errors = [exc.text()]
    if request.htmx:
        context = cc_card_context(request, ticket, errors=errors, value=text[:CC_FIELD_MAX])
        # 200 even with errors: htmx swaps only 2xx answers, and the card itself says what was wrong.
        return render(request, "tickets/_cc_card.html", context)
    for error in errors:
        messages.error(request, error)
    if done:
        messages.success(request, done)
    page = "tickets:staff_detail" if policy.sees_support_view else "tickets:client_detail"
    return redirect(page, ticket_id=ticket.pk)
