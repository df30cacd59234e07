"""How the report pages write what the selectors return: buckets' names, and a chart with its table."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.utils.formats import date_format
from django.utils.translation import gettext as _

from otklik.reports.charts import Chart, chart_svg, chart_table
from otklik.reports.period import PeriodFilters


def bucket_heading(grain: str) -> str:
    """Return the heading of the buckets' column in the active language."""
    return {"day": _("Day"), "week": _("Week from"), "month": _("Month")}[grain]


def bucket_label(day: dt.date, grain: str, *, with_year: bool = False) -> str:
    """Return a bucket's name by its first day: "5 Mar" (a day, or the week from it) or "March 2026"."""
    if grain == "month":
        return date_format(day, "F Y")
    return date_format(day, "j M Y" if with_year else "j M")


def bucket_labeller(filters: PeriodFilters) -> Callable[[dt.date], str]:
    """Return how the period's buckets are named (the year only when the period spans more than one)."""
    with_year = filters.date_from.year != filters.date_to.year
    return lambda day: bucket_label(day, filters.grain, with_year=with_year)


def chart_context(chart: Chart, heading: str) -> dict:
    """Return what `reports/_chart.html` shows: the chart's id, its SVG and its numbers as a table."""
    return {"key": chart.key, "svg": chart_svg(chart), "table": chart_table(chart, label_heading=heading)}
