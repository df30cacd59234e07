"""The three-tier funnel page (F-25, F-30): /reports/funnel/, its charts, tables and exports.

`?table=outcomes|types|tiers|buckets` with `?format=csv|xlsx` downloads one of the page's tables (the L1
outcomes by default).
"""

from __future__ import annotations

from collections.abc import Iterator

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from otklik.reports import funnel as selectors
from otklik.reports.charts import Chart, Series
from otklik.reports.export import table_response
from otklik.reports.pages import period_page
from otklik.reports.presentation import bucket_label, chart_context

STAGE_LABELS = {
    "entered": gettext_lazy("Entered the process"),
    "solved_l1": gettext_lazy("Solved at L1"),
    "open_l1": gettext_lazy("Still at L1"),
    "escalated": gettext_lazy("Escalated"),
    "escalated_l2": gettext_lazy("Escalated to L2"),
    "escalated_l3": gettext_lazy("Escalated to L3"),
}
TYPE_LABELS = {
    "accident": gettext_lazy("Accidents"),
    "incident": gettext_lazy("Incidents"),
    "change_request": gettext_lazy("Change requests"),
}
CHANGE_LABELS = {
    "approved": pgettext_lazy("change requests", "Approved"),
    "rejected": pgettext_lazy("change requests", "Rejected"),
    "awaiting": pgettext_lazy("change requests", "Awaiting the board's decision"),
}
TABLES = ("outcomes", "types", "tiers", "buckets")


def _hours(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _outcome_rows(result: selectors.Funnel) -> Iterator[list]:
    yield [_("L1 outcome"), *(str(label) for label in STAGE_LABELS.values())]
    for row in result.outcomes:
        yield [row.name, *(row.counts[name] for name in STAGE_LABELS)]
    yield [_("Total"), *(result.stages[name] for name in STAGE_LABELS)]


def _type_rows(result: selectors.Funnel) -> Iterator[list]:
    yield [_("Tickets"), _("Number")]
    for name, label in TYPE_LABELS.items():
        yield [str(label), result.types[name]]
    for name, label in CHANGE_LABELS.items():
        yield [str(label), result.changes[name]]


def _tier_rows(result: selectors.Funnel) -> Iterator[list]:
    yield [_("Tier"), _("Tickets"), _("Hours in total"), _("Average hours per ticket")]
    for tier in result.tiers:
        yield [tier.tier, tier.tickets, _hours(tier.hours), _hours(tier.average_hours)]


def _bucket_rows(result: selectors.Funnel, grain: str) -> Iterator[list]:
    yield [_("Created"), *(str(STAGE_LABELS[n]) for n in ("solved_l1", "open_l1", "escalated"))]
    for bucket in result.buckets:
        yield [bucket_label(bucket.start, grain), bucket.solved_l1, bucket.open_l1, bucket.escalated]


def _export(result: selectors.Funnel, fmt: str, table: str, grain: str) -> HttpResponse:
    rows = {
        "outcomes": lambda: _outcome_rows(result),
        "types": lambda: _type_rows(result),
        "tiers": lambda: _tier_rows(result),
        "buckets": lambda: _bucket_rows(result, grain),
    }[table]()
    return table_response(rows, f"funnel-{table}", fmt)


def _charts(result: selectors.Funnel, grain: str) -> list[dict]:
    stages = ("entered", "solved_l1", "open_l1", "escalated_l2", "escalated_l3")
    funnel_chart = Chart(
        key="funnel",
        title=_("Where the tickets went"),
        description=_("Tickets that entered the process, solved at L1, still at L1, escalated to L2 and L3."),
        labels=[str(STAGE_LABELS[name]) for name in stages],
        series=[Series(_("Tickets"), [result.stages[name] for name in stages])],
    )
    by_period = Chart(
        key="funnel-period",
        title=_("Tickets by when they were created"),
        description=_("Of the tickets created in each period: solved at L1, still at L1, escalated."),
        labels=[bucket_label(b.start, grain) for b in result.buckets],
        series=[
            Series(str(STAGE_LABELS["solved_l1"]), [b.solved_l1 for b in result.buckets]),
            Series(str(STAGE_LABELS["open_l1"]), [b.open_l1 for b in result.buckets]),
            Series(str(STAGE_LABELS["escalated"]), [b.escalated for b in result.buckets]),
        ],
        kind="stacked",
    )
    tiers_chart = Chart(
        key="funnel-tiers",
        title=_("Average time in each tier"),
        description=_(
            "Calendar hours a ticket spent in each tier, on average over the tickets that were there."
        ),
        labels=[tier.tier for tier in result.tiers],
        series=[Series(_("Hours per ticket"), [_hours(tier.average_hours) for tier in result.tiers])],
        y_title=_("hours"),
    )
    return [
        chart_context(chart, heading)
        for chart, heading in (
            (funnel_chart, _("Stage")),
            (by_period, _("Created")),
            (tiers_chart, _("Tier")),
        )
    ]


def _share(part: int, whole: int) -> float | None:
    return part / whole * 100 if whole else None


def funnel_page(request: HttpRequest) -> HttpResponse:
    """Show where the tickets created in the period went in the three-tier process."""
    page = period_page(request)
    result = selectors.funnel(
        page.policy,
        page.filters,
        tz=timezone.get_current_timezone(),
        none_name=_("(not classified yet)"),
    )
    if page.export:
        table = request.GET.get("table", "outcomes")
        return _export(result, page.export, table if table in TABLES else "outcomes", page.filters.grain)
    entered = result.stages["entered"]
    kpis = [
        {"label": STAGE_LABELS["entered"], "value": entered, "share": None},
        *(
            {
                "label": STAGE_LABELS[name],
                "value": result.stages[name],
                "share": _share(result.stages[name], entered),
            }
            for name in ("solved_l1", "escalated", "escalated_l3")
        ),
    ]
    return render(
        request,
        "reports/funnel.html",
        page.context(
            "reports:funnel",
            kpis=kpis,
            charts=_charts(result, page.filters.grain),
            stage_labels=list(STAGE_LABELS.values()),
            outcomes=[(row.name, [row.counts[n] for n in STAGE_LABELS]) for row in result.outcomes],
            totals=[result.stages[n] for n in STAGE_LABELS],
            types=[(label, result.types[name]) for name, label in TYPE_LABELS.items()],
            changes=[(label, result.changes[name]) for name, label in CHANGE_LABELS.items()],
            tiers=result.tiers,
        ),
    )
