"""Macros on the web (P5): the management page, applying one from the composer, and to a list selection."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from otklik.core.errors import DomainError, PermissionDenied, ReadOnlyAccess, ValidationFailed
from otklik.tickets import selectors
from otklik.tickets.macro_forms import MacroForm
from otklik.tickets.macro_selectors import macro_get_for, macro_list_for, macro_manage_list, macro_summaries
from otklik.tickets.models import Macro
from otklik.tickets.policies import TicketPolicy
from otklik.tickets.services.macros import (
    MAX_ID,
    macro_apply,
    macro_delete,
    macro_editable,
    macro_refusal,
    macro_save,
    macros_apply,
)
from otklik.tickets.views.common import domain_errors, require_staff_view, staff_form_context

# The selection's tickets named on the confirmation step; the rest are counted.
CONFIRM_LIST_LIMIT = 50
# The refused tickets named one by one after a selection; the rest are counted.
REFUSALS_SHOWN = 20


def macro_menu(user) -> list[tuple[Macro, list[str]]]:
    """Return the user's usable macros with what each does (the composer's menu, the list's bulk bar)."""
    macros = list(macro_list_for(user))
    summaries = macro_summaries(macros)
    return [(macro, summaries[macro.pk]) for macro in macros]


# -- the management page ------------------------------------------------------------------------------------
@domain_errors
def macro_list(request: HttpRequest) -> HttpResponse:
    """List the user's own macros and the shared ones, with what each does and the actions allowed."""
    policy = require_staff_view(request)
    macros = list(macro_manage_list(request.user).select_related("owner"))
    summaries = macro_summaries(macros)
    rows = [(m, summaries[m.pk], macro_editable(policy, m)) for m in macros]
    return render(
        request,
        "tickets/macro_list.html",
        {"rows": rows, "can_create": policy.is_support and not policy.is_demo},
    )


@require_http_methods(["GET", "POST"])
@domain_errors
def macro_new(request: HttpRequest) -> HttpResponse:
    return _macro_form_page(request, None)


@require_http_methods(["GET", "POST"])
@domain_errors
def macro_edit(request: HttpRequest, macro_id: int) -> HttpResponse:
    return _macro_form_page(request, macro_get_for(request.user, macro_id))


def _macro_form_page(request: HttpRequest, macro: Macro | None) -> HttpResponse:
    policy = require_staff_view(request)
    if macro is not None and not macro_editable(policy, macro):
        policy.require(not policy.is_demo)
        raise PermissionDenied(_("Only a support admin changes shared macros."))
    form = MacroForm(request.POST or None, macro=macro, **staff_form_context())
    if request.method == "POST" and form.is_valid():
        try:
            saved = macro_save(actor=request.user, macro=macro, data=form.to_input())
        except ReadOnlyAccess:
            raise
        except (ValidationFailed, PermissionDenied) as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, _("The macro “%(name)s” is saved.") % {"name": saved.name})
            return redirect("tickets:macro_list")
    context = {"form": form, "macro": macro, "can_share": policy.is_admin}
    return render(request, "tickets/macro_form.html", context, status=400 if form.errors else 200)


def _errors_to_form(form: MacroForm, exc: DomainError) -> None:
    """Put the service's messages on the form: per field where the form has it, else at the top."""
    if not exc.errors:
        form.add_error(None, exc.message)
        return
    for field, texts in exc.errors.items():
        for text in texts:
            form.add_error(field if field in form.fields else None, text)


@require_http_methods(["GET", "POST"])
@domain_errors
def macro_delete_view(request: HttpRequest, macro_id: int) -> HttpResponse:
    """Ask before deleting a macro; delete it on the confirmed POST."""
    policy = require_staff_view(request)
    macro = macro_get_for(request.user, macro_id)
    if request.method == "POST":
        macro_delete(actor=request.user, macro=macro)
        messages.success(request, _("The macro “%(name)s” is deleted.") % {"name": macro.name})
        return redirect("tickets:macro_list")
    if not macro_editable(policy, macro):
        policy.require(not policy.is_demo)
        raise PermissionDenied(_("Only a support admin changes shared macros."))
    return render(request, "tickets/macro_delete.html", {"macro": macro})


# -- applying ---------------------------------------------------------------------------------------------
@require_POST
@domain_errors
def staff_macro_apply(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Apply the chosen macro to the ticket (one click from the composer); say what happened."""
    policy = require_staff_view(request)
    ticket = selectors.ticket_get(policy, ticket_id)
    macro = macro_get_for(request.user, request.POST.get("macro"))
    try:
        ticket = macro_apply(actor=request.user, macro=macro, ticket=ticket)
    except ReadOnlyAccess:
        raise
    except (ValidationFailed, PermissionDenied) as exc:
        messages.error(
            request,
            _("Macro “%(name)s” was not applied: %(reason)s")
            % {"name": macro.name, "reason": macro_refusal(exc)},
        )
        return redirect(reverse("tickets:staff_detail", args=[ticket.pk]) + "#reply")
    messages.success(request, _("Macro “%(name)s” applied.") % {"name": macro.name})
    if not TicketPolicy(request.user).can_view(ticket):
        # The macro gave the ticket to someone the actor does not work with: back to the list.
        return redirect("tickets:staff_list")
    return redirect(reverse("tickets:staff_detail", args=[ticket.pk]) + "#last")


def macro_bulk(request: HttpRequest, policy: TicketPolicy, *, ids: list[str], back: str) -> HttpResponse:
    """The list's "Apply macro…": confirm with the count, then apply ticket by ticket and sum up.

    Called by the list's bulk view (`staff_bulk`), which has checked the user and the selection.
    """
    raw = request.POST.get("macro", "")
    if not raw.isdigit():
        messages.warning(request, _("Choose a macro: nothing was changed."))
        return redirect(back)
    macro = macro_get_for(request.user, raw)
    if request.POST.get("confirmed") != "yes":
        chosen = list(
            policy.visible()
            .filter(pk__in=[int(i) for i in ids[:CONFIRM_LIST_LIMIT] if int(i) <= MAX_ID])
            .order_by("pk")
            .values_list("pk", "title")
        )
        return render(
            request,
            "tickets/macro_bulk_confirm.html",
            {
                "macro": macro,
                "summary": macro_summaries([macro])[macro.pk],
                "ids": ids,
                "chosen": chosen,
                "more": max(0, len(ids) - CONFIRM_LIST_LIMIT),
                "back": request.POST.get("back", ""),
            },
        )
    result = macros_apply(actor=request.user, macro=macro, tickets=[int(i) for i in ids])
    if result.applied:
        n = len(result.applied)
        messages.success(
            request,
            ngettext(
                "Macro “%(name)s” applied to %(n)s ticket.", "Macro “%(name)s” applied to %(n)s tickets.", n
            )
            % {"name": macro.name, "n": n},
        )
    if result.refused:
        n = len(result.refused)
        messages.error(
            request, ngettext("Refused for %(n)s ticket:", "Refused for %(n)s tickets:", n) % {"n": n}
        )
        for tid, reason in list(result.refused.items())[:REFUSALS_SHOWN]:
            messages.error(request, _("Ticket #%(id)s: %(reason)s") % {"id": tid, "reason": reason})
        if n > REFUSALS_SHOWN:
            rest = n - REFUSALS_SHOWN
            messages.error(request, ngettext("and %(n)s more", "and %(n)s more", rest) % {"n": rest})
    return redirect(back)
