"""The staff workspace (F-14): the ticket list with its views, filters, bulk actions and export."""

from __future__ import annotations

import csv

from django.contrib import messages
from django.contrib.auth.models import User
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseNotModified,
    QueryDict,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from otklik.accounts.selectors import display_name, support_group_list
from otklik.core import clock
from otklik.core.csv_safe import csv_safe_row
from otklik.core.errors import ValidationFailed
from otklik.tickets import inboxes, selectors, services
from otklik.tickets.forms import (
    StaffFilterForm,
)
from otklik.tickets.models import SavedFilter
from otklik.tickets.services.tags import tag_name_clean
from otklik.tickets.tag_selectors import tags_annotate, ticket_tag_names_shown, tickets_tags_attach
from otklik.tickets.views.common import (
    LIVE_MAX_AGE_SECONDS,
    choice_text,
    domain_errors,
    list_links,
    live_etag,
    live_unchanged,
    paginate,
    query_without,
    require_staff_view,
    staff_form_context,
)
from otklik.tickets.views.staff_macros import macro_bulk, macro_menu
from otklik.tickets.views.staff_tags import tag_filter_chips

MAIN_FILTERS = ("q", "id", "indicator", "state", "responsible", "queue")
# Columns of the CSV export: (header, value of a ticket).
EXPORT_COLUMNS = (
    ("id", lambda t: t.pk),
    ("title", lambda t: t.title),
    ("author", lambda t: display_name(t.author) or t.author_email),
    ("responsible", lambda t: display_name(t.responsible)),
    ("status", lambda t: t.status.name if t.status else ""),
    ("category", lambda t: t.category.name if t.category else ""),
    ("criticality", lambda t: t.criticality.name if t.criticality else ""),
    ("mark", lambda t: t.mark.name if t.mark else ""),
    ("sla", lambda t: t.sla.name if t.sla else ""),
    ("created", lambda t: timezone.localtime(t.created_at).isoformat()),
    ("modified", lambda t: timezone.localtime(t.modified_at).isoformat()),
    ("closed", lambda t: timezone.localtime(t.closed_at).isoformat() if t.closed_at else ""),
    ("messages", lambda t: t.message_count),
    ("time_spent_minutes", lambda t: t.time_spent_minutes),
    ("overdue_count", lambda t: t.overdue_count),
    ("spam", lambda t: t.spam),
    ("tags", lambda t: ", ".join(ticket_tag_names_shown(t))),
)


@domain_errors
def staff_list(request: HttpRequest) -> HttpResponse:
    """List tickets with the sidebar's views, every filter, sorting and paging; export with ?export=csv.

    An htmx request for the live region (`?live=1`) gets the rows and the view counts only.
    """
    live = bool(request.GET.get("live"))
    if live:
        # A 304 carries nothing and its ETag is the viewer's own: it is answered before the policy is built.
        etag = live_etag(request, selectors.tickets_stamp(), clock.now().timestamp() // LIVE_MAX_AGE_SECONDS)
        if live_unchanged(request, etag):
            return HttpResponseNotModified(headers={"ETag": etag})
    policy = require_staff_view(request)
    ctx = staff_form_context()
    groups = list(support_group_list())
    params = request.GET.copy()
    inbox = inboxes.inbox_get(params.pop("view", [""])[-1], policy)
    for name in LIST_CONTROL_PARAMS:
        params.pop(name, None)
    form = StaffFilterForm(params or None, groups=groups, **ctx)
    flt = form.to_filter(timezone.get_current_timezone()) if form.is_valid() else selectors.TicketFilter()
    sort = request.GET.get("sort", "")
    if sort.lstrip("-") not in selectors.SORT_FIELDS:
        sort = ""
    qs = selectors.ticket_list(policy, flt, sort)
    condition = inbox.condition(policy) if inbox is not None else None
    if condition is not None:
        qs = qs.filter(condition)
    if request.GET.get("export") == "csv":
        return _export_csv(tags_annotate(qs))
    if request.GET.get("export") == "xlsx":
        return _export_xlsx(tags_annotate(qs))
    options = policy.options
    counter = None
    if flt.q:  # a search counts its matches first, up to a smaller cap (selectors.ticket_search_count)
        counter = lambda limit: selectors.ticket_search_count(policy, flt, limit, condition)  # noqa: E731
    page, size = paginate(
        request, qs, options.list_page_size, counter=counter, cap=selectors.SEARCH_COUNT_CAP
    )
    page.object_list = tags_annotate(page.object_list)  # the rows' tags come in the rows' own statement
    rows = [(t, selectors.indicator_for(t, policy)) for t in page.object_list]
    tickets_tags_attach(t for t, _ind in rows)
    saved = list(SavedFilter.objects.filter(user=request.user)[:SAVED_FILTERS_SHOWN])
    chips = _filter_chips(request, form) if form.is_bound else []
    counts = inboxes.inbox_counts(
        policy, {f"saved{f.pk}": _saved_filter_tickets(f, policy, ctx, groups) for f in saved}
    )
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "size": size,
        "sort": sort,
        "inbox": inbox,
        "inboxes": [(i, counts.get(i.key, 0)) for i in inboxes.inbox_list(policy)],
        "saved_filters": [(f, counts.get(f"saved{f.pk}", 0)) for f in saved],
        "count_cap": inboxes.COUNT_CAP,
        "more_fields": [form[name] for name in form.fields if name not in MAIN_FILTERS],
        **list_links(request, size),
        "query_all": query_without(request, "page", "export", "live"),
        "query_viewless": query_without(request, "page", "export", "live", "view"),
        "active_filters": [chip[0] for chip in chips],
        "chips": chips,
        "support_users": ctx["support_users"],
        **_bulk_macros(request, policy),
    }
    if not live:
        return render(request, "tickets/staff_list.html", context)
    response = render(request, "tickets/_staff_list_live.html", context)
    response["ETag"] = etag
    response["Cache-Control"] = "no-store"
    return response


# Parameters of the list itself (not filters): the form ignores them.
LIST_CONTROL_PARAMS = ("sort", "page", "size", "export", "live")
# The sidebar counts this many of a user's saved filters (each is one more capped count in the statement).
SAVED_FILTERS_SHOWN = 12


def _saved_filter_tickets(saved: SavedFilter, policy, ctx: dict, groups: list):
    """Return the tickets a saved filter selects (its stored query string read by the list's form)."""
    data = QueryDict(saved.query)
    inbox = inboxes.inbox_get(data.get("view", ""), policy)
    form = StaffFilterForm(data, groups=groups, **ctx)
    flt = form.to_filter(timezone.get_current_timezone()) if form.is_valid() else selectors.TicketFilter()
    qs = selectors.ticket_list(policy, flt)
    return qs.filter(inbox.condition(policy)) if inbox is not None else qs


def _filter_chips(request: HttpRequest, form: StaffFilterForm) -> list[tuple[str, str, str]]:
    """Return (field, "Label: value", query string without it) for every filter in use."""
    chips = []
    for name, field in form.fields.items():
        if name == "tag":  # one chip per tag, each removing only its own name
            chips.extend(tag_filter_chips(request, field.label))
            continue
        raw = request.GET.get(name)
        if not raw:
            continue
        shown = "" if name in ("queue", "has_open_children") else choice_text(field, raw)
        label = f"{field.label}: {shown}" if shown else str(field.label)
        chips.append((name, label, query_without(request, name, "page", "live")))
    return chips


def _bulk_macros(request: HttpRequest, policy) -> dict:
    """Return the bulk actions with the user's macros for "Apply macro…" (offered only when there are any)."""
    macros = macro_menu(request.user) if policy.is_support and not policy.is_demo else []
    actions = [(value, label) for value, label in _bulk_actions(policy) if value != "macro" or macros]
    return {"bulk_actions": actions, "bulk_macros": macros}


def _bulk_actions(policy) -> list[tuple[str, str]]:
    """Return the bulk actions the list offers this user, in the order of F-14."""
    if policy.is_demo or not policy.is_support:
        return []
    admin_only = ("spam", "delete")
    return [
        (value, label)
        for value, label in _bulk_labels().items()
        if policy.is_admin or value not in admin_only
    ]


class _Echo:
    def write(self, value: str) -> str:
        return value


def _export_csv(qs) -> StreamingHttpResponse:
    """Stream every filtered ticket as CSV (UTF-8 with BOM so spreadsheet programs read Cyrillic)."""
    writer = csv.writer(_Echo())

    def rows():
        yield "\ufeff" + writer.writerow([name for name, _value in EXPORT_COLUMNS])
        for ticket in qs.iterator_with_relations(chunk_size=2000):
            yield writer.writerow(csv_safe_row(value(ticket) for _name, value in EXPORT_COLUMNS))

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="tickets.csv"'
    return response


def _export_xlsx(qs) -> HttpResponse:
    """Write every filtered ticket into an XLSX workbook (spooled to disk past 8 MB)."""
    import tempfile

    from otklik.core.xlsx import write_xlsx

    def rows():
        yield [name for name, _value in EXPORT_COLUMNS]
        for ticket in qs.iterator_with_relations(chunk_size=2000):
            yield [value(ticket) for _name, value in EXPORT_COLUMNS]

    buffer = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    write_xlsx(buffer, rows(), sheet_name="tickets")
    buffer.seek(0)
    from django.http import FileResponse

    return FileResponse(
        buffer,
        as_attachment=True,
        filename="tickets.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


def _bulk_labels() -> dict[str, str]:
    """Name every bulk action (whoever may use it: the service refuses what the user may not do)."""
    return {
        "close": _("Close"),
        "close_notify": _("Close and notify"),
        "open": _("Open"),
        "open_notify": _("Open and notify"),
        "assign": _("Assign to…"),
        "possible_spam": _("Mark as possible spam"),
        "not_spam": _("Mark as not spam"),
        "spam": _("Mark as spam"),
        "delete": _("Delete"),
        "tag_add": _("Add the tag…"),
        "tag_remove": _("Remove the tag…"),
        "macro": _("Apply macro…"),
    }


# Tickets named on the confirmation step; the rest are counted.
CONFIRM_LIST_LIMIT = 50


@require_POST
@domain_errors
def staff_bulk(request: HttpRequest) -> HttpResponse:
    """Apply a bulk action to the chosen tickets once confirmed; the list shows what failed and why.

    Every action asks first: a POST without `confirmed=yes` only shows the confirmation step, which
    names the action and the number of tickets and posts the same choice back with the confirmation.
    """
    policy = require_staff_view(request)
    policy.require(policy.is_support)  # demo access saves nothing
    action = request.POST.get("action", "")
    back = reverse("tickets:staff_list") + (
        "?" + request.POST.get("back", "") if request.POST.get("back") else ""
    )
    labels = _bulk_labels()
    if action not in labels:
        messages.warning(request, _("Choose an action: nothing was changed."))
        return redirect(back)
    # Deleting is the admin's alone: do not ask other staff to confirm what will be refused anyway.
    policy.require(action != "delete" or policy.is_admin)
    ids = [i for i in request.POST.getlist("ids") if i.isdigit()]
    if not ids:
        messages.warning(request, _("Choose at least one ticket."))
        return redirect(back)
    if action == "macro":  # a macro's changes, ticket by ticket (its own confirmation and summary)
        return macro_bulk(request, policy, ids=ids, back=back)
    responsible = request.POST.get("responsible") or None
    tag = request.POST.get("tag", "")
    if action in services.BULK_TAG_ACTIONS:
        try:
            tag = tag_name_clean(tag)  # asked before the confirmation, not after it
        except ValidationFailed as exc:
            messages.error(request, exc.message)
            return redirect(back)
    if request.POST.get("confirmed") != "yes":
        return _bulk_confirm(request, policy, action, labels[action], ids, responsible, tag=tag)
    try:
        result = services.tickets_bulk(
            actor=request.user, ticket_ids=ids, action=action, responsible=responsible, tag=tag
        )
    except ValidationFailed as exc:
        messages.error(request, exc.message)
        return redirect(back)
    if result.done:
        done = len(result.done)
        messages.success(
            request, ngettext("Done for %(n)s ticket.", "Done for %(n)s tickets.", done) % {"n": done}
        )
    for tid, reason in result.failed.items():
        messages.error(request, _("Ticket #%(id)s: %(reason)s") % {"id": tid, "reason": reason})
    return redirect(back)


def _bulk_confirm(
    request, policy, action: str, label: str, ids: list[str], responsible, tag: str = ""
) -> HttpResponse:
    """Render the confirmation step: the action, how many tickets, which ones; nothing is changed yet."""
    chosen = list(
        policy.visible()
        .filter(pk__in=[int(i) for i in ids[:CONFIRM_LIST_LIMIT]])
        .order_by("pk")
        .values_list("pk", "title")
    )
    assignee = None
    if action == "assign" and responsible and str(responsible).isdigit():
        assignee = User.objects.filter(pk=int(responsible)).first()
    return render(
        request,
        "tickets/staff_bulk_confirm.html",
        {
            "ids": ids,
            "action": action,
            "label": label,
            "chosen": chosen,
            "more": max(0, len(ids) - CONFIRM_LIST_LIMIT),
            "responsible": responsible or "",
            "assignee": assignee,
            "tag": tag,
            "back": request.POST.get("back", ""),
        },
    )


@require_POST
@domain_errors
def staff_filter_save(request: HttpRequest) -> HttpResponse:
    require_staff_view(request)
    if request.POST.get("delete"):
        services.saved_filter_delete(user=request.user, filter_id=int(request.POST["delete"]))
        messages.success(request, _("The filter is deleted."))
        return redirect("tickets:staff_list")
    query = request.POST.get("query", "")
    try:
        services.saved_filter_save(user=request.user, name=request.POST.get("name", ""), query=query)
    except ValidationFailed as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The filter is saved."))
    return redirect(reverse("tickets:staff_list") + ("?" + query if query else ""))
