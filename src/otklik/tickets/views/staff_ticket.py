"""The staff ticket page (F-14): conversation, composer, side panel, live parts, message actions."""

from __future__ import annotations

import csv
import json

from django.contrib import messages
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotModified,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from otklik.accounts.selectors import client_group_names, display_name
from otklik.core import clock, events
from otklik.core.csv_safe import csv_safe_row
from otklik.core.errors import ValidationFailed
from otklik.core.text import render_markup
from otklik.dictionaries.models import DictionaryKind
from otklik.sla.selectors import sla_timeline
from otklik.tickets import selectors, services
from otklik.tickets.cc_selectors import ticket_follower_list
from otklik.tickets.forms import (
    ReplyFollowUpForm,
    StaffReplyForm,
    TicketAttributesForm,
)
from otklik.tickets.loglines import event_values
from otklik.tickets.models import CustomField, SpamState, Ticket
from otklik.tickets.panels import ticket_panels
from otklik.tickets.views.common import (
    LIVE_MAX_AGE_SECONDS,
    choice_text,
    domain_errors,
    live_etag,
    live_unchanged,
    policy_for,
    require_staff_view,
    staff_form_context,
    uploads_from,
)
from otklik.tickets.views.links import links_panel, merged_answer
from otklik.tickets.views.staff_macros import macro_menu
from otklik.tickets.views.staff_tags import tags_panel
from otklik.ui.forms import apply_errors

# How often the ticket page reads who else is there (a GET; presence.js writes only every 30 s).
PRESENCE_REFRESH_SECONDS = 5


def _attributes_form(ticket, policy, ctx, data=None) -> TicketAttributesForm:
    """Build the attributes panel with the admins' custom fields; fields F-13 forbids are disabled."""
    form = TicketAttributesForm(
        data,
        prefix="attr",
        initial=TicketAttributesForm.initial_for(ticket),
        custom_fields=list(CustomField.objects.filter(active=True)),
        **ctx,
    )
    # Keep the ticket's current values selectable when they left the lists (an entry or SLA deactivated, a
    # responsible without staff rights): otherwise the browser submits the blank and saving any field wipes them.
    for name in ("category", "criticality", "status", "difficulty", "source", "sla", "responsible"):
        current = getattr(ticket, name)
        choices = list(form.fields[name].choices)
        if current is not None and str(current.pk) not in {str(value) for value, _label in choices}:
            label = display_name(current) if name == "responsible" else str(current)
            form.fields[name].choices = [*choices, (str(current.pk), label)]
    editable = policy.editable_fields(ticket)
    for name, field in form.fields.items():
        key = "custom" if name.startswith(TicketAttributesForm.CUSTOM_PREFIX) else name
        if key not in editable:
            field.disabled = True
    return form


@require_http_methods(["GET", "POST"])
@domain_errors
def staff_detail(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """The ticket page: the conversation, the composer (reply + status, responsible, close in one send),
    the side panel edited in place, presence, the client's card."""
    policy = require_staff_view(request)
    ticket = selectors.ticket_get(policy, ticket_id)
    if request.method == "GET" and (moved := merged_answer(request, policy, ticket, "tickets:staff_detail")):
        return moved
    ctx = staff_form_context()
    reply_form = StaffReplyForm(request.POST or None, request.FILES or None, prefix="reply")
    follow_form = _follow_up_form(ctx, request.POST or None)
    if request.method == "POST" and _closes_without_text(request) and follow_form.is_valid():
        # "Send and mark solved" with nothing written: the follow-up alone (the s key on the page).
        services.ticket_reply(
            actor=request.user,
            ticket=ticket,
            draft=None,
            follow_up=services.ReplyFollowUp(
                changes=follow_form.changes(), close=True, notify_author=not _quiet(request, "reply-quiet")
            ),
        )
        messages.success(request, _("The ticket is closed."))
        return redirect("tickets:staff_detail", ticket_id=ticket.pk)
    if request.method == "POST":
        if reply_form.is_valid() and follow_form.is_valid():
            d = reply_form.cleaned_data
            close = bool(follow_form.cleaned_data["close"]) or request.POST.get("after") == "close"
            try:
                services.ticket_reply(
                    actor=request.user,
                    ticket=ticket,
                    draft=services.MessageDraft(
                        body=d["body"],
                        files=uploads_from(request, "reply-files"),
                        hidden=d["hidden"],
                        not_change_status=d["not_change_status"],
                        minutes=d["minutes"] or 0,
                        on_behalf_of=ticket.author if d["on_behalf"] else None,
                        notify_author=not d["quiet"],
                        signed=d["signed"],
                    ),
                    follow_up=services.ReplyFollowUp(changes=follow_form.changes(), close=close),
                )
            except ValidationFailed as exc:
                apply_errors(reply_form, exc)
            else:
                messages.success(
                    request,
                    _("The message is added and the ticket closed.") if close else _("The message is added."),
                )
                return redirect(reverse("tickets:staff_detail", args=[ticket.pk]) + "#last")
    else:
        services.presence_touch(user=request.user, ticket=ticket)
        events.emit(events.TICKET_VIEWED, {"user": request.user, "ticket_id": ticket.pk})
    context = _detail_context(request, policy, ticket, ctx)
    context.update(reply_form=reply_form, follow_form=follow_form)
    return render(request, "tickets/staff_detail.html", context, status=400 if reply_form.errors else 200)


def _closes_without_text(request: HttpRequest) -> bool:
    return (
        request.POST.get("after") == "close"
        and not request.POST.get("reply-body", "").strip()
        and not request.FILES.getlist("reply-files")
    )


def _follow_up_form(ctx: dict, data=None) -> ReplyFollowUpForm:
    return ReplyFollowUpForm(
        data,
        prefix="then",
        statuses=ctx["dictionaries"][DictionaryKind.STATUS],
        support_users=ctx["support_users"],
    )


def _detail_context(request: HttpRequest, policy, ticket: Ticket, ctx: dict) -> dict:
    """Return what the ticket page and its live parts show (a constant number of queries)."""
    attributes = _attributes_form(ticket, policy, ctx)
    _inline_edit(attributes, ticket)
    options = policy.options
    viewers, answering = selectors.presence_list(
        ticket, minutes=options.presence_minutes, exclude=request.user
    )
    discussion = list(selectors.message_list(policy, ticket))
    followers = ticket_follower_list(policy, ticket)
    return {
        "ticket": ticket,
        "messages_list": discussion,
        "creation": selectors.creation_event_get(ticket),
        "sla_timeline": sla_timeline(ticket),
        "attributes": attributes,
        "editable": policy.editable_fields(ticket),
        "indicator": selectors.indicator_for(ticket, policy),
        "can_post": policy.can_post_message(ticket),
        "can_close": policy.can_close(ticket),
        "can_reopen": policy.can_reopen(ticket),
        "can_delete": policy.can_delete(ticket),
        "split_numbers": {m.number for m in discussion if policy.can_split_message(m, ticket=ticket)},
        "spam_states": [(s, SpamState(s).label) for s in SpamState.values if s in policy.spam_states(ticket)],
        "frequent_answers": ctx["dictionaries"][DictionaryKind.FREQUENT_ANSWER],
        "viewers": viewers,
        "answering": answering,
        "other_tickets": selectors.author_other_tickets(policy, ticket),
        "client_groups": client_group_names(ticket.author_id),
        # One read of the followers serves the Follow button and the CC card's list.
        "following": any(user.pk == request.user.pk for user in followers),
        "ticket_followers": followers,
        "panels": ticket_panels("staff", request, policy, ticket),
        "presence_minutes": options.presence_minutes,
        "presence_refresh_seconds": PRESENCE_REFRESH_SECONDS,
        "neighbours": selectors.ticket_neighbours(policy, ticket),
        "macros": macro_menu(request.user) if policy.is_support else [],
        "links": links_panel(policy, ticket),
        "tags_row": tags_panel(policy, ticket),
    }


def _inline_edit(form: TicketAttributesForm, ticket: Ticket) -> None:
    """Make every enabled control of the side panel save itself when changed (htmx), one field a request."""
    url = reverse("tickets:staff_field", args=[ticket.pk])
    for name, field in form.fields.items():
        if field.disabled:
            continue
        field.widget.attrs.update(
            {
                "hx-post": url,
                "hx-trigger": "change",
                "hx-vals": json.dumps({"field": name}),
                "hx-target": "#props",
                "hx-swap": "outerHTML",
            }
        )


@require_POST
@domain_errors
def staff_field(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Save one property of the side panel at once (htmx) and answer the panel with an undo offer.

    The value comes as the panel's form posts it (`attr-<field>`); only the named field is read and only
    it is sent to `ticket_update`, which decides (F-13) and records the change like any other.
    """
    policy = require_staff_view(request)
    ticket = selectors.ticket_get(policy, ticket_id)
    policy.require(not policy.is_demo)
    ctx = staff_form_context()
    form = _attributes_form(ticket, policy, ctx)
    name = request.POST.get("field", "")
    field = form.fields.get(name)
    change = None
    error = ""
    if field is None or field.disabled:
        error = _("This field cannot be changed here.")
    else:
        raw = field.widget.value_from_datadict(request.POST, request.FILES, form.add_prefix(name))
        old = form.initial.get(name)
        try:
            value = field.clean(raw)
        except DjangoValidationError as exc:
            error = f"{field.label}: {' '.join(exc.messages)}"
        else:
            if _shown(value) != _shown(old):
                change = _field_change(name, value)
    if change is not None:
        try:
            ticket = services.ticket_update(
                actor=request.user, ticket=ticket, changes=change, notify_author=not _quiet(request)
            )
        except ValidationFailed as exc:
            error = exc.text()
            change = None
    ticket = selectors.ticket_get(policy, ticket.pk)
    context = _detail_context(request, policy, ticket, ctx)
    if change is not None and field is not None:
        context["undo"] = {
            "field": name,
            "label": field.label,
            "value": _shown(old),
            "shown": _choice_label(field, value),
        }
    context["field_error"] = error
    return render(request, "tickets/_ticket_side.html", context, status=400 if error else 200)


def _shown(value) -> str:
    """Return a value as the panel's form posts it (choices are ids as strings, a blank is "")."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _choice_label(field, value) -> str:
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if value in (None, ""):
        return (
            str(dict(getattr(field, "choices", ())).get("", "—")) if getattr(field, "choices", None) else "—"
        )
    return choice_text(field, _shown(value))


def _field_change(name: str, value) -> dict:
    if name.startswith(TicketAttributesForm.CUSTOM_PREFIX):
        code = name.removeprefix(TicketAttributesForm.CUSTOM_PREFIX)
        return {"custom": {code: str(value) if value is not None and not isinstance(value, bool) else value}}
    return {name: None if value == "" else value}


@require_POST
@domain_errors
def staff_follow(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Follow or stop following the ticket (htmx: answer the side panel; else back to the page)."""
    policy = require_staff_view(request)
    ticket = selectors.ticket_get(policy, ticket_id)
    services.ticket_follow(actor=request.user, ticket=ticket, follow=request.POST.get("follow") == "1")
    if not request.htmx:
        return redirect("tickets:staff_detail", ticket_id=ticket.pk)
    return render(
        request, "tickets/_ticket_side.html", _detail_context(request, policy, ticket, staff_form_context())
    )


@domain_errors
def staff_live(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Answer the ticket page's live request: 304 while nothing changed, else the parts that did.

    The ETag covers the ticket row's changing columns and who else is here, read in two small queries;
    the parts are rendered only when one of them moved.
    """
    # The 304 needs no policy: it carries nothing, and the ETag is the viewer's own (their id is in it).
    # The first answer, and every changed one, is rendered from the policy below.
    options = selectors.options_cached()
    stamp = selectors.ticket_live_stamp(
        ticket_id, viewer_id=request.user.pk, presence_minutes=options.presence_minutes
    )
    if stamp is None:
        return HttpResponse(status=404)
    etag = live_etag(request, stamp, clock.now().timestamp() // LIVE_MAX_AGE_SECONDS)
    if live_unchanged(request, etag):
        return HttpResponseNotModified(headers={"ETag": etag})
    policy = require_staff_view(request)
    ticket = selectors.ticket_get(policy, ticket_id)
    context = _detail_context(request, policy, ticket, staff_form_context())
    response = render(request, "tickets/_ticket_live.html", context)
    response["ETag"] = etag
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@domain_errors
def staff_update(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Save the attributes panel: only changed fields are sent to the service (F-13 decides)."""
    policy = require_staff_view(request)
    ticket = selectors.ticket_get(policy, ticket_id)
    policy.require(not policy.is_demo)  # demo access: the read-only notice, not "Nothing changed"
    ctx = staff_form_context()
    form = _attributes_form(ticket, policy, ctx, request.POST)
    editable = policy.editable_fields(ticket)
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(
                request, f"{form.fields[field].label if field in form.fields else ''}: {' '.join(errors)}"
            )
        return redirect("tickets:staff_detail", ticket_id=ticket.pk)
    changes = {}
    for name in form.changed_data:
        if name in editable:
            value = form.cleaned_data[name]
            changes[name] = None if value == "" else value
    custom = form.custom_changes()
    if custom and "custom" in editable:
        changes["custom"] = {
            k: (str(v) if v is not None and not isinstance(v, bool) else v) for k, v in custom.items()
        }
    if changes:
        try:
            services.ticket_update(
                actor=request.user, ticket=ticket, changes=changes, notify_author=not _quiet(request)
            )
        except ValidationFailed as exc:
            for field, errors in exc.errors.items():
                messages.error(request, f"{field}: {' '.join(errors)}")
        else:
            messages.success(request, _("Saved."))
    else:
        messages.info(request, _("Nothing changed."))
    return redirect("tickets:staff_detail", ticket_id=ticket.pk)


def _quiet(request: HttpRequest, name: str = "quiet") -> bool:
    """Tell whether staff ticked "do not notify the author" (F-11): the panel's box, or the composer's."""
    return request.POST.get(name) in ("on", "1", "true")


@require_POST
@domain_errors
def staff_action(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Close, reopen, or set the spam state of the ticket."""
    policy = require_staff_view(request)
    ticket = selectors.ticket_get(policy, ticket_id)
    action = request.POST.get("action", "")
    if action == "close":
        services.ticket_close(actor=request.user, ticket=ticket, notify_author=not _quiet(request))
        messages.success(request, _("The ticket is closed."))
    elif action == "reopen":
        services.ticket_reopen(actor=request.user, ticket=ticket, notify_author=not _quiet(request))
        messages.success(request, _("The ticket is reopened."))
    elif action == "spam":
        services.ticket_set_spam(actor=request.user, ticket=ticket, state=request.POST.get("spam", ""))
        messages.success(request, _("Saved."))
    elif action == "set_sla_responsible" and ticket.sla and ticket.sla.responsible_id:
        _responsible_set_default(request, ticket, ticket.sla.responsible_id)
    elif action == "set_category_responsible" and ticket.category and ticket.category.responsible_id:
        _responsible_set_default(request, ticket, ticket.category.responsible_id)
    else:
        messages.error(request, _("Unknown action."))
    return redirect("tickets:staff_detail", ticket_id=ticket.pk)


def _responsible_set_default(request: HttpRequest, ticket: Ticket, user_id: int) -> None:
    """Make the SLA's or the category's default responsible the ticket's responsible (F-10 buttons)."""
    try:
        services.ticket_update(actor=request.user, ticket=ticket, changes={"responsible": user_id})
    except ValidationFailed as exc:
        # A default responsible who lost staff rights is refused: say so on the ticket page itself.
        messages.error(request, exc.text())
    else:
        messages.success(request, _("Saved."))


@require_http_methods(["GET", "POST"])
@domain_errors
def staff_delete(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Ask for confirmation, then delete the ticket with its messages and files (admins only)."""
    policy = require_staff_view(request)
    ticket = selectors.ticket_get(policy, ticket_id)
    policy.require(policy.can_delete(ticket))
    if request.method == "POST":
        services.ticket_delete(actor=request.user, ticket=ticket)
        messages.success(request, _("Ticket #%(id)s is deleted.") % {"id": ticket_id})
        return redirect("tickets:staff_list")
    return render(request, "tickets/staff_delete.html", {"ticket": ticket})


def _message_page(request: HttpRequest, ticket_id: int, number: int, allowed) -> tuple:
    """Return (policy, ticket, message) for a message action page, after `allowed(policy, ticket, message)`."""
    policy = require_staff_view(request)
    ticket = selectors.ticket_get(policy, ticket_id)
    message = policy.messages(ticket).filter(number=number).first()
    if message is None:
        raise Http404()
    policy.require(allowed(policy, ticket, message))
    return policy, ticket, message


@require_http_methods(["GET", "POST"])
@domain_errors
def message_edit(request: HttpRequest, ticket_id: int, number: int) -> HttpResponse:
    _policy, ticket, message = _message_page(
        request, ticket_id, number, lambda policy, ticket, message: policy.can_edit_message(message)
    )
    error = ""
    if request.method == "POST":
        try:
            services.message_edit(actor=request.user, message=message, body=request.POST.get("body", ""))
        except ValidationFailed as exc:
            error = exc.text()
        else:
            messages.success(request, _("The message is changed; the previous text is kept in its history."))
            return redirect(reverse("tickets:staff_detail", args=[ticket.pk]) + f"#m{number}")
    return render(
        request,
        "tickets/message_edit.html",
        {"ticket": ticket, "message": message, "error": error},
        status=400 if error else 200,
    )


@require_http_methods(["GET", "POST"])
@domain_errors
def message_delete(request: HttpRequest, ticket_id: int, number: int) -> HttpResponse:
    _policy, ticket, message = _message_page(
        request, ticket_id, number, lambda policy, ticket, message: policy.can_delete_message(message)
    )
    if request.method == "POST":
        services.message_delete(actor=request.user, message=message)
        messages.success(request, _("Message #%(n)s is deleted.") % {"n": number})
        return redirect("tickets:staff_detail", ticket_id=ticket.pk)
    return render(request, "tickets/message_delete.html", {"ticket": ticket, "message": message})


@require_http_methods(["GET", "POST"])
@domain_errors
def message_split(request: HttpRequest, ticket_id: int, number: int) -> HttpResponse:
    """Move one problem into a new ticket for the same author, with the chosen files."""
    _policy, ticket, message = _message_page(
        request,
        ticket_id,
        number,
        lambda policy, ticket, message: policy.can_split_message(message, ticket=ticket),
    )
    error = ""
    if request.method == "POST":
        try:
            new = services.ticket_split(
                actor=request.user,
                ticket=ticket,
                message=message,
                title=request.POST.get("title", ""),
                attachment_ids=[i for i in request.POST.getlist("attachments") if i.isdigit()],
            )
        except ValidationFailed as exc:
            error = exc.text()
        else:
            messages.success(
                request, _("Ticket #%(id)s is created from message #%(n)s.") % {"id": new.pk, "n": number}
            )
            return redirect("tickets:staff_detail", ticket_id=new.pk)
    return render(
        request,
        "tickets/message_split.html",
        {"ticket": ticket, "message": message, "error": error},
        status=400 if error else 200,
    )


@require_http_methods(["GET", "POST"])
def presence_ping(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """htmx: return the presence line; a POST first records presence (answering when the answer box is
    in use), a GET only reads. The page's periodic "still here" (`still=1`) gets no body: the ticket's live
    request already brings the line when it changes."""
    policy = policy_for(request)
    ticket = policy.visible().filter(pk=ticket_id).first()
    if ticket is None:
        return HttpResponse(status=404)
    if request.method == "POST":
        answering = request.POST.get("answering") == "1"
        services.presence_touch(user=request.user, ticket=ticket, answering=answering)
        if request.POST.get("still") == "1":
            return HttpResponse(status=204)  # "still here": the page's live request shows the line
    options = policy.options
    viewers, answering = selectors.presence_list(
        ticket, minutes=options.presence_minutes, exclude=request.user
    )
    return render(
        request,
        "tickets/_presence.html",
        {
            "viewers": viewers,
            "answering": answering,
            "presence_minutes": options.presence_minutes,
            "ticket": ticket,
        },
    )


@domain_errors
def staff_history_csv(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Export the ticket's change history (who, when, channel, field, old -> new) as CSV."""
    policy = require_staff_view(request)
    ticket = selectors.ticket_get(policy, ticket_id)
    # The history is the log: demo access does not see log messages, so it does not get this either.
    policy.require(policy.sees_hidden)
    events = ticket.events.select_related("actor", "message").order_by("at", "id")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="ticket-{ticket.pk}-history.csv"'
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow(["at", "actor", "via", "field", "old", "new"])
    for event in events:
        # The values come from the log data, in the reader's language; older rows keep their text.
        old, new = event_values(
            event, event.message.data if event.message_id and event.data is None else None
        )
        writer.writerow(
            csv_safe_row(
                [
                    timezone.localtime(event.at).isoformat(),
                    display_name(event.actor) or event.actor_email,  # a sender known by address only
                    event.via,
                    event.field_label,
                    old,
                    new,
                ]
            )
        )
    return response


# The preview renders what a reply of this size would be; longer text is cut, not refused (it is a preview).
PREVIEW_MAX_CHARS = 100_000


@require_POST
def markdown_preview(request: HttpRequest) -> HttpResponse:
    """Render the composer's text as the conversation will show it (htmx; staff only)."""
    policy = policy_for(request)
    if not policy.sees_support_view:
        return HttpResponse(status=403)
    text = request.POST.get("reply-body", "")[:PREVIEW_MAX_CHARS]
    if not text.strip():
        return HttpResponse(format_html('<p class="muted">{}</p>', _("Nothing to preview yet.")))
    return HttpResponse(render_markup(text))
