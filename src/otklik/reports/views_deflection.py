"""The knowledge-base deflection page (F-20, F-25): /reports/deflection/, its charts, table and exports.

`?table=sections|buckets` with `?format=csv|xlsx` downloads one of the page's tables (the sections by
default). The page takes the period and its step; an SLA or a staff group does not apply to an answer.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from otklik.reports import deflection as selectors
from otklik.reports.charts import Chart, Series
from otklik.reports.export import table_response
from otklik.reports.pages import period_page
from otklik.reports.presentation import bucket_label, chart_context

COUNT_LABELS = {
    "wizard_answered": gettext_lazy("Answered by the wizard"),
    "article_answered": gettext_lazy("Answered by an article"),
    "suggestion_left": gettext_lazy("Left after a suggested article"),
    "abandoned": gettext_lazy("Wizard abandoned"),
    "deflected": gettext_lazy("Deflected"),
    "tickets": gettext_lazy("Tickets filed"),
}
TABLES = ("sections", "buckets")


def _percent(share: float | None) -> float | None:
    return None if share is None else round(share * 100, 1)


def _section_rows(result: selectors.Deflection) -> Iterator[list]:
    yield [_("Section"), *(str(label) for label in COUNT_LABELS.values()), _("Share deflected, %")]
    for row in result.rows:
        yield [row.name, *(row.counts[n] for n in COUNT_LABELS), _percent(row.share)]
    yield [_("Total"), *(result.totals[n] for n in COUNT_LABELS), _percent(result.share)]


def _bucket_rows(result: selectors.Deflection, grain: str) -> Iterator[list]:
    yield [_("Period"), str(COUNT_LABELS["deflected"]), str(COUNT_LABELS["tickets"])]
    for bucket in result.buckets:
        yield [bucket_label(bucket.start, grain), bucket.deflected, bucket.tickets]


def _charts(result: selectors.Deflection, grain: str) -> list[dict]:
    kinds = ("wizard_answered", "article_answered", "suggestion_left", "tickets")
    by_section = Chart(
        key="deflection",
        title=_("Questions answered without a ticket, and tickets filed"),
        description=_(
            "Per knowledge-base section: answered by the wizard, by an article, left after a "
            "suggested article, and the tickets filed."
        ),
        labels=[row.name for row in result.rows],
        series=[Series(str(COUNT_LABELS[n]), [row.counts[n] for row in result.rows]) for n in kinds],
        kind="stacked",
    )
    by_period = Chart(
        key="deflection-period",
        title=_("Deflected questions and tickets over time"),
        labels=[bucket_label(b.start, grain) for b in result.buckets],
        series=[
            Series(str(COUNT_LABELS["deflected"]), [b.deflected for b in result.buckets]),
            Series(str(COUNT_LABELS["tickets"]), [b.tickets for b in result.buckets]),
        ],
        kind="stacked",
    )
    return [
        chart_context(chart, heading)
        for chart, heading in ((by_section, _("Section")), (by_period, _("Period")))
    ]


def deflection_page(request: HttpRequest) -> HttpResponse:
    """Show the questions the knowledge base answered per section against the tickets filed."""
    page = period_page(request)
    result = selectors.deflection(
        page.policy,
        page.filters,
        tz=timezone.get_current_timezone(),
        language=get_language() or "ru",
        none_name=_("(no section)"),
        hidden_name=_("(a section you cannot read)"),
    )
    if page.export:
        table = request.GET.get("table", "sections")
        rows = _bucket_rows(result, page.filters.grain) if table == "buckets" else _section_rows(result)
        return table_response(rows, f"deflection-{table if table in TABLES else 'sections'}", page.export)
    return render(
        request,
        "reports/deflection.html",
        page.context(
            "reports:deflection",
            charts=_charts(result, page.filters.grain),
            labels=list(COUNT_LABELS.values()),
            rows=[
                (row.name, [row.counts[n] for n in COUNT_LABELS], _percent(row.share)) for row in result.rows
            ],
            totals=[result.totals[n] for n in COUNT_LABELS],
            share=_percent(result.share),
            deflected=result.totals["deflected"],
            tickets=result.totals["tickets"],
            abandoned=result.totals["abandoned"],
        ),
    )
