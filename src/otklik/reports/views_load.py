"""The load report's page (F-25 graphs): /reports/load/ with four charts, each with its table.

The filters are the period's (`date_from`, `date_to`, `grain` day/week/month, `sla`, `group`; the last 30
days by default). `?format=csv|xlsx` downloads one table, chosen by `?table=`: `load` (the default: created,
open at the end, closed, reopened, messages, overdue per bucket), `solve_time`, `solve_messages` or `marks`
(tickets closed in the period per bucket and class, with a total row). An unknown `table` gives `load`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from otklik.reports import load as selectors
from otklik.reports.charts import Chart, ChartTable, Series, chart_svg
from otklik.reports.export import table_response
from otklik.reports.pages import period_page
from otklik.reports.period import PeriodFilters
from otklik.reports.presentation import bucket_heading, bucket_labeller
from otklik.tickets.policies import TicketPolicy

# The load table's columns with their headings, in the table's order.
LOAD_COLUMNS = (
    ("created", pgettext_lazy("tickets", "Created")),
    ("open_at_end", gettext_lazy("Open at the end")),
    ("closed", pgettext_lazy("tickets", "Closed")),
    ("reopened", pgettext_lazy("tickets", "Reopened")),
    ("messages", gettext_lazy("Messages")),
    ("overdue", gettext_lazy("Overdue")),
)
# What the chart draws of them (reopenings are few and stay in the table).
LOAD_DRAWN = ("created", "closed", "open_at_end", "messages", "overdue")
# The distributions: ?table= name (as `selectors.DISTRIBUTIONS`), the chart's title and description.
DISTRIBUTIONS: dict[str, tuple[object, object]] = {
    "solve_time": (
        gettext_lazy("Time to solve"),
        gettext_lazy("Tickets closed in the period by calendar days from creation to closing, per step"),
    ),
    "solve_messages": (
        gettext_lazy("Messages needed to solve"),
        gettext_lazy(
            "Tickets closed in the period by the number of messages in their conversation, per step"
        ),
    ),
    "marks": (
        gettext_lazy("Marks"),
        gettext_lazy("Tickets closed in the period by the mark they got, per step"),
    ),
}
TABLES = ("load", *DISTRIBUTIONS)


def load_chart(report: selectors.Load, label: Callable[[dt.date], str]) -> tuple[Chart, ChartTable]:
    """Return the load chart (lines per bucket) and its table (every column, and the period's totals)."""
    labels = [label(b.start) for b in report.buckets]
    names = dict(LOAD_COLUMNS)
    chart = Chart(
        key="load",
        title=_("Load"),
        description=_(
            "Tickets created, closed and open at the end of each step, messages and overdue tickets"
        ),
        labels=labels,
        series=[Series(str(names[n]), [getattr(b, n) for b in report.buckets]) for n in LOAD_DRAWN],
        kind="line",
    )
    rows = [
        [lab, *(str(b.counts()[n]) for n, _l in LOAD_COLUMNS)]
        for lab, b in zip(labels, report.buckets, strict=True)
    ]
    totals = [sum(b.counts()[n] for b in report.buckets) for n, _l in LOAD_COLUMNS]
    totals[1] = report.buckets[-1].open_at_end if report.buckets else 0  # open at the period's end
    rows.append([_("Total"), *(str(n) for n in totals)])
    header = [bucket_heading(report.grain), *(str(label) for _n, label in LOAD_COLUMNS)]
    return chart, ChartTable(header=header, rows=rows)


def distribution_chart(
    name: str, report: selectors.Distribution, label: Callable[[dt.date], str]
) -> tuple[Chart, ChartTable]:
    """Return a distribution as stacked bars per bucket (one colour per class) and its table: a row per
    bucket, a column per class and the total, and the period's total row (the distribution itself)."""
    title, description = DISTRIBUTIONS[name]
    labels = [label(day) for day, _counts in report.buckets]
    series = [
        Series(row.name, [counts[i] for _day, counts in report.buckets]) for i, row in enumerate(report.rows)
    ]
    chart = Chart(
        key=name.replace("_", "-"),
        title=str(title),
        description=str(description),
        labels=labels,
        series=series,
        kind="stacked",
        height=360,
    )
    header = [bucket_heading(report.grain), *(row.name for row in report.rows), _("Total")]
    rows = [
        [lab, *(str(n) for n in counts), str(sum(counts))]
        for lab, (_day, counts) in zip(labels, report.buckets, strict=True)
    ]
    rows.append([_("Total"), *(str(row.count) for row in report.rows), str(report.total)])
    return chart, ChartTable(header=header, rows=rows)


def export_rows(table: str, policy: TicketPolicy, filters: PeriodFilters) -> Iterator[list[object]]:
    """Return one table of the report as rows for CSV/XLSX (numbers as numbers, days as ISO dates)."""
    heading = bucket_heading(filters.grain)
    if table in DISTRIBUTIONS:
        report = selectors.solved_distributions(policy, filters, (table,))[table]
        yield [heading, *(row.name for row in report.rows), _("Total")]
        for day, counts in report.buckets:
            yield [day.isoformat(), *counts, sum(counts)]
        yield [_("Total"), *(row.count for row in report.rows), report.total]
        return
    load = selectors.load(policy, filters)
    yield [heading, *(str(label) for _n, label in LOAD_COLUMNS)]
    for bucket in load.buckets:
        yield [bucket.start.isoformat(), *(bucket.counts()[n] for n, _l in LOAD_COLUMNS)]


def _without(request: HttpRequest, *names: str) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


def load_page(request: HttpRequest) -> HttpResponse:
    """Show the load of the period and how the tickets closed in it were solved (F-25 graphs)."""
    page = period_page(request)
    policy, filters = page.policy, page.filters
    if page.export:
        table = request.GET.get("table", "load")
        table = table if table in TABLES else "load"
        name = f"{table.replace('_', '-')}-{filters.date_from.isoformat()}-{filters.date_to.isoformat()}"
        return table_response(export_rows(table, policy, filters), name, page.export)
    label = bucket_labeller(filters)
    figures = []
    chart, table = load_chart(selectors.load(policy, filters), label)
    figures.append({"name": "load", "chart": chart, "svg": chart_svg(chart), "table": table, "total": None})
    for name, report in selectors.solved_distributions(policy, filters, tuple(DISTRIBUTIONS)).items():
        chart, table = distribution_chart(name, report, label)
        figures.append(
            {"name": name, "chart": chart, "svg": chart_svg(chart), "table": table, "total": report.total}
        )
    return render(
        request,
        "reports/load.html",
        page.context("reports:load", figures=figures, table_query=_without(request, "format", "table")),
    )
