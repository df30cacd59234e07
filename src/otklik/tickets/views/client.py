"""The client's pages: my tickets, a new ticket, one ticket with its discussion (F-12)."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from otklik.core.errors import PermissionDenied, ReadOnlyAccess, ValidationFailed
from otklik.dictionaries.models import DictionaryKind
from otklik.sla.selectors import sla_for_new_ticket
from otklik.tickets import selectors, services
from otklik.tickets.forms import (
    NEW_TICKET_PREFILL_KEY,
    PREFILL_FIELDS,
    ClientFilterForm,
    NewTicketForm,
    ReplyForm,
)
from otklik.tickets.panels import ticket_panels
from otklik.tickets.policies import support_answered
from otklik.tickets.views.common import (
    domain_errors,
    list_links,
    paginate,
    policy_for,
    uploads_from,
)
from otklik.tickets.views.links import merged_answer
from otklik.ui.forms import apply_errors


def client_list(request: HttpRequest) -> HttpResponse:
    policy = policy_for(request)
    form = ClientFilterForm(request.GET or None)
    flt = form.to_filter() if form.is_valid() else selectors.TicketFilter()
    sort = request.GET.get("sort", "")
    qs = selectors.ticket_list(policy, flt, sort if sort.lstrip("-") in selectors.SORT_FIELDS else "")
    page, size = paginate(request, qs, 20)
    rows = [(t, selectors.indicator_for(t, policy)) for t in page.object_list]
    return render(
        request,
        "tickets/client_list.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "size": size,
            "sort": sort,
            **list_links(request, size),
            "filtered": bool(
                request.GET.get("q")
                or request.GET.get("id")
                or request.GET.get("indicator")
                or request.GET.get("state")
            ),
        },
    )


@require_http_methods(["GET", "POST"])
@domain_errors
def client_new(request: HttpRequest) -> HttpResponse:
    """File a new ticket: title, message, category and criticality, the regulation's prompts, files."""
    policy = policy_for(request)
    if not policy.can_create():
        if policy.is_demo:
            policy.require(False)  # the read-only notice
        raise PermissionDenied(_("You are not allowed to create tickets."))
    # The form offers only what the author's SLA allows (F-06); the service checks it again.
    sla = sla_for_new_ticket(request.user).sla
    dictionaries = selectors.dictionaries_for_forms(sla=sla)
    prefill = request.session.get(NEW_TICKET_PREFILL_KEY) if "wizard" in request.GET else None
    initial = (
        {k: v for k, v in prefill.items() if k in PREFILL_FIELDS and isinstance(v, str)}
        if isinstance(prefill, dict)
        else {}
    )
    form = NewTicketForm(
        request.POST or None, request.FILES or None, dictionaries=dictionaries, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        try:
            ticket = services.ticket_create(
                actor=request.user, draft=form.ticket_draft(uploads_from(request)), staff=form.staff_fields()
            )
        except ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            request.session.pop(NEW_TICKET_PREFILL_KEY, None)  # the wizard's run ended in this ticket
            messages.success(
                request,
                _("Ticket #%(id)s is accepted. We will answer as soon as we can.") % {"id": ticket.pk},
            )
            return redirect("tickets:client_detail", ticket_id=ticket.pk)
    return render(
        request, "tickets/client_new.html", {"form": form, "sla": sla}, status=400 if form.errors else 200
    )


@require_http_methods(["GET", "POST"])
@domain_errors
def client_detail(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Show the ticket without hidden and log messages; take a reply with files."""
    policy = policy_for(request)
    if policy.sees_support_view:
        return redirect("tickets:staff_detail", ticket_id=ticket_id)
    ticket = selectors.ticket_get(policy, ticket_id)
    if request.method == "GET" and (moved := merged_answer(request, policy, ticket, "tickets:client_detail")):
        return moved
    form = ReplyForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.message_post(
                actor=request.user,
                ticket=ticket,
                draft=services.MessageDraft(body=form.cleaned_data["body"], files=uploads_from(request)),
            )
        except ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Your message is added."))
            return redirect(reverse("tickets:client_detail", args=[ticket.pk]) + "#last")
    services.presence_touch(user=request.user, ticket=ticket)
    options = policy.options
    viewers, _answering = selectors.presence_list(
        ticket, minutes=options.presence_minutes, exclude=request.user
    )
    choices = selectors.author_choices(ticket)
    return render(
        request,
        "tickets/client_detail.html",
        {
            "ticket": ticket,
            "messages_list": selectors.message_list(policy, ticket),
            "form": form,
            "indicator": selectors.indicator_for(ticket, policy),
            "editable": policy.editable_fields(ticket),
            "is_author": policy.is_author(ticket),
            "support_answered": support_answered(ticket),
            "can_post": policy.can_post_message(ticket),
            "can_close": policy.can_close(ticket),
            "can_reopen": policy.can_reopen(ticket),
            "criticalities": choices[DictionaryKind.CRITICALITY],
            "marks": choices[DictionaryKind.MARK],
            "viewers": viewers,
            "custom_values": selectors.custom_values(ticket, policy),
            "panels": ticket_panels("client", request, policy, ticket),
        },
        status=400 if form.errors else 200,
    )


@require_POST
@domain_errors
def client_action(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Close, reopen, rate or change the criticality of one's own ticket."""
    policy = policy_for(request)
    ticket = selectors.ticket_get(policy, ticket_id)
    action = request.POST.get("action", "")
    try:
        if action == "close":
            services.ticket_close(actor=request.user, ticket=ticket)
            messages.success(request, _("The ticket is closed. Thank you!"))
        elif action == "reopen":
            services.ticket_reopen(actor=request.user, ticket=ticket)
            messages.success(request, _("The ticket is reopened. Please add what is still wrong."))
        elif action in ("mark", "criticality"):
            services.ticket_update(
                actor=request.user, ticket=ticket, changes={action: request.POST.get(action) or None}
            )
            messages.success(request, _("Saved."))
        else:
            messages.error(request, _("Unknown action."))
    except ValidationFailed as exc:
        messages.error(request, exc.text())
    except PermissionDenied as exc:
        # The author's page went stale (support's answer deleted, the ticket closed meanwhile): say why
        # on the ticket page. Anyone else gets the plain refusal.
        if isinstance(exc, ReadOnlyAccess) or not policy.is_author(ticket):
            raise
        messages.error(request, exc.text())
    return redirect("tickets:client_detail", ticket_id=ticket.pk)
