"""The SLA reports' pages: compliance with the response deadline and its breaches (/reports/sla/), and the
first-response and resolution times in working hours (/reports/response-times/).

Both take the period's filters plus `by` (sla, responsible, category, period: how the table's rows are
cut). `?format=csv|xlsx` downloads the table; on the compliance page `&table=breaches` downloads the
breaches instead (at most `BREACHES_EXPORT_MAX` rows, the latest first).
"""

from __future__ import annotations

from collections.abc import Iterator

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from otklik.reports import sla_times
from otklik.reports.charts import Chart, Series
from otklik.reports.export import table_response
from otklik.reports.pages import PeriodPage, period_page
from otklik.reports.presentation import bucket_heading, bucket_labeller, chart_context

BREACHES_EXPORT_MAX = 10_000


def dimension_labels() -> dict[str, str]:
    """Return how the SLA reports can cut their rows, in the viewer's language."""
    return {
        "sla": _("SLA"),
        "responsible": _("Responsible"),
        "category": _("Category"),
        "period": _("Period"),
    }


def _by(request: HttpRequest) -> str:
    by = request.GET.get("by", "sla")
    return by if by in sla_times.DIMENSIONS else "sla"


def _tabs(page: PeriodPage, by: str) -> list[dict]:
    tabs = []
    for name, label in dimension_labels().items():
        query = _query_with(page, by=name)
        tabs.append({"label": label, "query": query, "active": name == by})
    return tabs


def _query_with(page: PeriodPage, **values: str) -> str:
    query = QueryDict(page.query, mutable=True)
    for key, value in values.items():
        query[key] = value
    query.pop("page", None)
    return query.urlencode()


def hours(seconds: float | None) -> str:
    """Return seconds as hours with one decimal ("—" for none), in the active language's format."""
    if seconds is None:
        return "—"
    return formats.number_format(round(seconds / 3600, 1), 1)


def late_text(seconds: int) -> str:
    """Return working seconds past a deadline as "N h MM min"."""
    minutes = seconds // 60
    return _("%(h)d h %(m)02d min") % {"h": minutes // 60, "m": minutes % 60}


def share_text(share: float | None) -> str:
    return "—" if share is None else f"{formats.number_format(round(share * 100, 1), 1)} %"


def _row_name(row, by: str, label) -> str:
    return label(row.key) if by == "period" else row.name


# --- compliance ----------------------------------------------------------------------------------------


def _compliance_export(report: sla_times.Compliance, label) -> Iterator[list]:
    yield [
        str(dimension_labels()[report.by]),
        _("Answered against a deadline"),
        _("Within the deadline"),
        _("Breached"),
        _("Share within, %"),
        _("Working hours late, total"),
    ]
    for row in [*report.rows, report.totals]:
        name = _("Total") if row is report.totals else _row_name(row, report.by, label)
        share = None if row.share is None else round(row.share * 100, 1)
        yield [name, row.answered, row.within, row.breached, share, round(row.late_working_seconds / 3600, 2)]


def _breaches_export(rows) -> Iterator[list]:
    yield [
        _("Ticket"),
        _("Title"),
        _("SLA"),
        _("Responsible"),
        _("Clock from"),
        _("Deadline"),
        _("Answered"),
        _("Working minutes late"),
    ]
    local = timezone.localtime
    for fact in rows:
        yield [
            fact.ticket_id,
            fact.ticket.title,
            fact.sla.name if fact.sla else "",
            _person(fact.ticket.responsible),
            local(fact.source_at).strftime("%Y-%m-%d %H:%M"),
            local(fact.deadline_at).strftime("%Y-%m-%d %H:%M") if fact.deadline_at else "",
            local(fact.answered_at).strftime("%Y-%m-%d %H:%M"),
            fact.late_working_seconds // 60,
        ]


def _person(user) -> str:
    if user is None:
        return ""
    return f"{user.first_name} {user.last_name}".strip() or user.username


def compliance_chart(report: sla_times.Compliance, label) -> Chart:
    """Return the stacked bars of answers within and past the deadline per bucket."""
    return Chart(
        key="sla-compliance",
        title=_("Answers within and past the deadline"),
        description=_("Support answers given against a deadline, per step of the period"),
        labels=[label(day) for day, _a, _w in report.series],
        series=[
            Series(_("Within the deadline"), [within for _d, _a, within in report.series]),
            Series(_("Breached"), [answered - within for _d, answered, within in report.series]),
        ],
        kind="stacked",
        colours=("#16a34a", "#dc2626"),
    )


def sla_page(request: HttpRequest) -> HttpResponse:
    """Show how many answers kept the SLA's deadline, per SLA, responsible, category or step (F-25)."""
    page = period_page(request)
    by = _by(request)
    none_name = _("(none)")
    report = sla_times.compliance(page.policy, page.filters, by, none_name=none_name)
    label = bucket_labeller(page.filters)
    breaches = sla_times.breaches(page.policy, page.filters)
    if page.export:
        if request.GET.get("table") == "breaches":
            return table_response(
                _breaches_export(breaches[:BREACHES_EXPORT_MAX]), "sla-breaches", page.export
            )
        return table_response(_compliance_export(report, label), f"sla-compliance-{by}", page.export)
    chart = compliance_chart(report, label)
    # The breaches are counted by the rows' sum, so the pager needs no COUNT of its own.
    paginator = Paginator(breaches, sla_times.BREACHES_PER_PAGE)
    paginator.count = report.totals.breached  # type: ignore[misc]  # the totals already counted them
    breach_page = paginator.get_page(request.GET.get("page"))
    rows = [
        {
            "name": _row_name(row, by, label),
            "answered": row.answered,
            "within": row.within,
            "breached": row.breached,
            "share": share_text(row.share),
            "low": row.share is not None and row.share < 0.9,
            "late": hours(row.late_working_seconds),
        }
        for row in report.rows
    ]
    return render(
        request,
        "reports/sla.html",
        page.context(
            "reports:sla",
            by=by,
            by_label=dimension_labels()[by],
            tabs=_tabs(page, by),
            rows=rows,
            totals={
                "answered": report.totals.answered,
                "within": report.totals.within,
                "breached": report.totals.breached,
                "share": share_text(report.totals.share),
                "late": hours(report.totals.late_working_seconds),
            },
            chart=chart_context(chart, bucket_heading(page.filters.grain)),
            breaches=[
                {
                    "fact": fact,
                    "sla": fact.sla.name if fact.sla else "",
                    "responsible": _person(fact.ticket.responsible),
                    "late": late_text(fact.late_working_seconds),
                }
                for fact in breach_page
            ],
            breach_page=breach_page,
            breaches_query=_query_with(page, by=by),
            breaches_export=_query_with(page, by=by, table="breaches"),
        ),
    )


# --- response times ------------------------------------------------------------------------------------

# Working hours unless the heading says calendar (the page's note says so; the export's headings too).
TIME_COLUMNS = (
    ("count", gettext_lazy("Count")),
    ("mean", gettext_lazy("Mean")),
    ("median", gettext_lazy("Median")),
    ("p90", gettext_lazy("P90")),
    ("calendar_mean", gettext_lazy("Calendar mean")),
    ("calendar_median", gettext_lazy("Calendar median")),
)


def _stats_cells(stats: sla_times.TimeStats) -> list[str]:
    return [str(stats.count)] + [hours(getattr(stats, name)) for name, _l in TIME_COLUMNS[1:]]


def _stats_numbers(stats: sla_times.TimeStats) -> list:
    def h(value):
        return None if value is None else round(value / 3600, 2)

    return [stats.count] + [h(getattr(stats, name)) for name, _l in TIME_COLUMNS[1:]]


def _times_export(report: sla_times.Times, label) -> Iterator[list]:
    first, resolution = _("First response"), _("Resolution")
    unit = _("working hours")
    yield [str(dimension_labels()[report.by])] + [
        f"{part}: {title}" + ("" if name in ("count", "calendar_mean", "calendar_median") else f", {unit}")
        for part in (first, resolution)
        for name, title in TIME_COLUMNS
    ]
    for row in [*report.rows, report.totals]:
        name = _("Total") if row is report.totals else _row_name(row, report.by, label)
        yield [name, *_stats_numbers(row.first_response), *_stats_numbers(row.resolution)]


def times_chart(report: sla_times.Times, label) -> Chart:
    """Return the first response's mean and median per bucket, in working hours, with the target line."""

    def h(value):
        return None if value is None else round(value / 3600, 2)

    return Chart(
        key="response-times",
        title=_("First response, working hours"),
        description=_(
            "Mean and median time to the first answer per step of the period, in working hours of each "
            "ticket's SLA timetable, against the regulation's target"
        ),
        labels=[label(day) for day, _m, _d in report.series],
        series=[
            Series(_("Mean"), [h(mean) for _d, mean, _m in report.series]),
            Series(_("Median"), [h(median) for _d, _m, median in report.series]),
        ],
        kind="line",
        y_title=_("working hours"),
        target=sla_times.TARGET_HOURS,
        target_name=_("Target: about %(h)d h") % {"h": sla_times.TARGET_HOURS},
    )


def response_times_page(request: HttpRequest) -> HttpResponse:
    """Show first-response and resolution times in working hours (median, p90, mean) and calendar hours."""
    page = period_page(request)
    by = _by(request)
    report = sla_times.response_times(page.policy, page.filters, by, none_name=_("(none)"))
    label = bucket_labeller(page.filters)
    if page.export:
        return table_response(_times_export(report, label), f"response-times-{by}", page.export)
    chart = times_chart(report, label)
    first = report.totals.first_response
    return render(
        request,
        "reports/response_times.html",
        page.context(
            "reports:response_times",
            by=by,
            by_label=dimension_labels()[by],
            tabs=_tabs(page, by),
            columns=[label_ for _n, label_ in TIME_COLUMNS],
            rows=[
                {
                    "name": _row_name(row, by, label),
                    "first": _stats_cells(row.first_response),
                    "resolution": _stats_cells(row.resolution),
                }
                for row in report.rows
            ],
            totals={"first": _stats_cells(first), "resolution": _stats_cells(report.totals.resolution)},
            kpis={
                "first_mean": hours(first.mean),
                "first_median": hours(first.median),
                "first_p90": hours(first.p90),
                "first_calendar": hours(first.calendar_mean),
                "resolution_median": hours(report.totals.resolution.median),
                "resolution_calendar": hours(report.totals.resolution.calendar_median),
                "over_target": first.mean is not None and first.mean > sla_times.TARGET_HOURS * 3600,
            },
            target=sla_times.TARGET_HOURS,
            chart=chart_context(chart, bucket_heading(page.filters.grain)),
        ),
    )
