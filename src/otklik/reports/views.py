"""The reports' pages (F-25): the support desk at /reports/, its CSV and XLSX export (?format=csv|xlsx)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from otklik.accounts.models import SupportGroup
from otklik.accounts.selectors import support_group_list, support_user_list
from otklik.reports import selectors
from otklik.reports.export import table_response
from otklik.reports.forms import DeskForm
from otklik.reports.pages import nav, staff_policy
from otklik.sla.models import SlaLevel
from otklik.tickets.panels import list_filters
from otklik.tickets.selectors import dictionaries_for_forms

# The columns of the table, each with the staff list's parameters that select its tickets.
COLUMNS = (
    # Short headers (the legend under the table says what red and green mean): the table fits a laptop.
    (
        "open_client_last",
        pgettext_lazy("desk column", "Waiting for us"),
        {"state": "open", "last_by": "client"},
    ),
    (
        "open_support_last",
        pgettext_lazy("desk column", "Waiting for the client"),
        {"state": "open", "last_by": "support"},
    ),
    ("open", pgettext_lazy("tickets that are open", "Open"), {"state": "open"}),
    ("closed", pgettext_lazy("tickets that are closed", "Closed"), {"state": "closed"}),
    ("total", gettext_lazy("Total"), {}),
)
EXTRA_COLUMNS = (
    ("messages", gettext_lazy("Messages")),
    ("overdue_messages", gettext_lazy("Overdue messages")),
    ("overdue", gettext_lazy("Open overdue")),
)


def dimension_labels() -> dict[str, str]:
    """Return the dimensions' names in the viewer's language, in the page's order."""
    return {
        "responsible": _("Responsible"),
        "criticality": _("Criticality"),
        "status": _("Status"),
        "difficulty": _("Difficulty"),
        "category": _("Category"),
        "source": _("Source"),
        "mark": _("Mark"),
        "sla": _("SLA"),
        "process_state": _("Process state"),
        "l1_outcome": _("L1 outcome"),
    }


def _listable(by: str) -> set[str]:
    """Return the values the staff list's filter for `by` accepts (its form offers only these)."""
    if by == "responsible":
        return {"none"} | {str(pk) for pk in support_user_list().values_list("pk", flat=True)}
    if by == "sla":
        return {"none"} | {
            str(pk) for pk in SlaLevel.objects.filter(active=True).values_list("pk", flat=True)
        }
    if by in ("process_state", "l1_outcome"):
        # The process registers these filters with the list (tickets.panels.list_filter_register).
        listed = {f.name: f for f in list_filters()}
        return {value for value, _label in listed[by].choices()} if by in listed else set()
    return {"none"} | {str(e.pk) for e in dictionaries_for_forms()[by]}


def _scope_params(filters: selectors.DeskFilters) -> dict[str, str]:
    params: dict[str, str] = {}
    if filters.created_from:
        params["created_from"] = filters.created_from.isoformat()
    if filters.created_to:
        params["created_to"] = filters.created_to.isoformat()
    if filters.sla is not None:
        params["sla"] = str(filters.sla)
    if filters.group is not None:
        params["staff_group"] = str(filters.group)
    return params


def _link(base: str, params: dict[str, str]) -> str:
    return f"{base}?{urlencode(params)}" if params else base


def _table(desk: selectors.Desk, filters: selectors.DeskFilters) -> tuple[list[dict], list[dict]]:
    """Return the rows and the totals as cells (number, link or None) for the template."""
    base = reverse("tickets:staff_list")
    scope = _scope_params(filters)
    listable = _listable(desk.by)

    def cells(counts: dict[str, int], row_params: dict[str, str] | None) -> list[dict]:
        out = []
        for name, _label, params in COLUMNS:
            link = None if row_params is None else _link(base, {**scope, **row_params, **params})
            out.append({"name": name, "value": counts[name], "link": link})
        out.extend({"name": name, "value": counts[name], "link": None} for name, _label in EXTRA_COLUMNS)
        return out

    rows = []
    for row in desk.rows:
        linked = row.list_value is not None and row.list_value in listable
        row_params = {desk.by: row.list_value} if linked and row.list_value is not None else None
        rows.append({"key": row.key, "name": row.name, "cells": cells(row.counts, row_params)})
    return rows, cells(desk.totals, {})


def _export_rows(desk: selectors.Desk):
    yield [str(dimension_labels()[desk.by]), *(str(label) for _n, label, _p in COLUMNS)] + [
        str(label) for _n, label in EXTRA_COLUMNS
    ]
    names = [name for name, _l, _p in COLUMNS] + [name for name, _l in EXTRA_COLUMNS]
    for row in desk.rows:
        yield [row.name, *(row.counts[n] for n in names)]
    yield [_("Total"), *(desk.totals[n] for n in names)]


def _export(desk: selectors.Desk, fmt: str) -> HttpResponse:
    """Return the table as CSV or XLSX."""
    return table_response(_export_rows(desk), f"desk-{desk.by}", fmt)


def desk_page(request: HttpRequest) -> HttpResponse:
    """Show the support desk: the visible tickets counted per value of a dimension (F-25)."""
    policy = staff_policy(request)
    slas = list(SlaLevel.objects.all())
    groups = list(support_group_list(SupportGroup.Kind.STAFF))
    form = DeskForm(request.GET or None, dimensions=dimension_labels(), slas=slas, groups=groups)
    filters, by = (
        form.parsed() if form.is_bound and form.is_valid() else (selectors.DeskFilters(), "responsible")
    )
    desk = selectors.desk(policy, filters, by, none_name=_("(none)"))
    fmt = request.GET.get("format", "")
    if fmt in ("csv", "xlsx"):
        return _export(desk, fmt)
    rows, totals = _table(desk, filters)
    query = request.GET.copy()
    query.pop("format", None)
    tabs = []
    for name, label in dimension_labels().items():
        query["by"] = name
        tabs.append({"name": name, "label": label, "query": query.urlencode(), "active": name == by})
    query["by"] = by
    return render(
        request,
        "reports/desk.html",
        {
            "form": form,
            "by": by,
            "by_label": dimension_labels()[by],
            "tabs": tabs,
            "columns": [(n, label) for n, label, _p in COLUMNS] + list(EXTRA_COLUMNS),
            "rows": rows,
            "totals": totals,
            "query": query.urlencode(),
            "nav": nav("reports:desk"),
            "today": timezone.localdate(),
            "period_days": (filters.created_to - filters.created_from).days + 1
            if filters.created_from and filters.created_to
            else None,
        },
    )
