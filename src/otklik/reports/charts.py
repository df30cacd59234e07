"""Charts drawn on the server as SVG with pygal, readable without JavaScript (F-25).

A report hands a `Chart` (labels already in the viewer's language and time zone, one `Series` per line or
bar group, an optional target line such as the regulation's "about 4 working hours") to `chart_svg`, and
the page shows the SVG inline beside a table of the same numbers (`chart_table`) for screen readers, for
copying, and for readers whose browser draws no SVG.

pygal's output is made fit for the page: no XML declaration, no script (its tooltips need JavaScript that
the Content-Security-Policy would refuse anyway, and that would be fetched from the internet), no comments
naming web addresses, and the root element gets `role="img"` with the chart's title and description, so a
screen reader announces it as one picture with a name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import pygal
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from pygal.style import Style

# The palette of the pages (ui/static/otklik/otklik.css): calm colours that stay apart in greyscale.
COLOURS = ("#1d4ed8", "#16a34a", "#dc2626", "#d97706", "#7c3aed", "#0891b2", "#64748b", "#db2777")
TARGET_COLOUR = "#111827"
_STYLE_OPTIONS = dict(
    background="transparent",
    plot_background="transparent",
    foreground="#1f2937",
    foreground_strong="#111827",
    foreground_subtle="#cbd5e1",
    colors=COLOURS,
    font_family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    label_font_size=12,
    major_label_font_size=12,
    legend_font_size=12,
    title_font_size=14,
    value_font_size=11,
    guide_stroke_color="#e5e7eb",
    major_guide_stroke_color="#cbd5e1",
    guide_stroke_dasharray="0",
    major_guide_stroke_dasharray="0",
)
_STYLE = Style(**_STYLE_OPTIONS)
_SCRIPT = re.compile(r"<script\b.*?</script>", re.S | re.I)
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_ROOT = re.compile(r"<svg\b([^>]*)>")
# pygal numbers every chart with a random id; a stable one keeps the page (and its tests) reproducible.
_CHART_ID = re.compile(r"chart-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True)
class Series:
    """One line or one colour of bars: its name in the legend and a value per label (None: no value)."""

    name: str
    values: Sequence[float | int | None]


@dataclass(frozen=True)
class Chart:
    """What to draw: `kind` "bar" (grouped), "stacked" (stacked bars) or "line"; `target` (line charts), a
    value drawn as a dashed line across the chart with its `target_name` in the legend."""

    key: str  # the chart's id on the page, e.g. "load"
    title: str
    labels: Sequence[str]
    series: Sequence[Series]
    kind: Literal["bar", "stacked", "line"] = "bar"
    description: str = ""
    y_title: str = ""
    target: float | None = None
    target_name: str = ""
    width: int = 720
    height: int = 320
    extra: dict = field(default_factory=dict)  # further pygal options, for a chart that needs one
    # The series' colours when they mean something (green within, red breached); the palette otherwise.
    colours: Sequence[str] = ()


class _WithoutTooltips:
    """Write no tooltip data: pygal gives every point <desc> elements that only its JavaScript reads
    (never sent: `js=[]`, and the Content-Security-Policy would refuse it). They were a third of a chart's
    SVG and a fifth of its drawing time; the table beside the chart holds the numbers."""

    def _tooltip_data(self, *args, **kwargs) -> None:
        return None


class _Line(_WithoutTooltips, pygal.Line):
    pass


class _StackedBar(_WithoutTooltips, pygal.StackedBar):
    pass


class _Bar(_WithoutTooltips, pygal.Bar):
    pass


def _pygal_chart(chart: Chart):
    style = _STYLE
    if chart.colours:
        style = Style(**{**_STYLE_OPTIONS, "colors": (*chart.colours, *COLOURS)})
    options = dict(
        style=style,
        title=chart.title,
        width=chart.width,
        height=chart.height,
        explicit_size=False,  # the viewBox scales the picture to its container, down to a phone
        js=[],
        disable_xml_declaration=True,
        legend_at_bottom=True,
        legend_at_bottom_columns=min(3, len(chart.series) + (chart.target is not None)) or 1,
        truncate_legend=-1,
        truncate_label=-1,  # "Январ…" names no month; long labels are rotated instead  # a legend cut at 15 characters ("target: about 4 wor…") says nothing
        show_legend=len(chart.series) > 1 or chart.target is not None,
        x_label_rotation=-35 if len(chart.labels) > 8 else 0,
        show_minor_x_labels=len(chart.labels) <= 31,
        y_title=chart.y_title or None,
        print_values=False,
        include_x_axis=True,
        min_scale=2,
        max_scale=8,
        **chart.extra,
    )
    if chart.kind == "line":
        return _Line(dots_size=2.5, **options)
    if chart.kind == "stacked":
        return _StackedBar(**options)
    return _Bar(**options)


def chart_svg(chart: Chart) -> SafeString:
    """Render `chart` as an inline `<svg>` element, safe to put in a page as it is."""
    if chart.target is not None and chart.kind != "line":
        # pygal draws every series of a chart alike: on a bar chart the target would be one more bar.
        raise ValueError("a target line needs a line chart")
    drawn = _pygal_chart(chart)
    drawn.x_labels = [str(label) for label in chart.labels]
    for series in chart.series:
        drawn.add(series.name, list(series.values))
    if chart.target is not None:
        drawn.add(
            chart.target_name or str(chart.target),
            [chart.target] * len(chart.labels),
            stroke_style={"width": 2, "dasharray": "6, 4"},
            show_dots=False,
        )
    svg = drawn.render(is_unicode=True)
    svg = _SCRIPT.sub("", svg)
    svg = _COMMENT.sub("", svg)
    svg = _CHART_ID.sub(f"chart-{_safe_id(chart.key)}", svg)
    label = escape(chart.title)
    described = escape(chart.description or chart.title)
    svg = _ROOT.sub(
        lambda m: f'<svg{m.group(1)} role="img" aria-label="{label}"><desc>{described}</desc>', svg, count=1
    )
    return mark_safe(svg)  # noqa: S308 - pygal escapes the labels and values it writes; ours are escaped above


@dataclass(frozen=True)
class ChartTable:
    """The chart's numbers as a table: a header (the labels' heading, then each series) and the rows."""

    header: list[str]
    rows: list[list[str]]


def chart_table(chart: Chart, *, label_heading: str = "") -> ChartTable:
    """Return the numbers `chart` draws, one row per label, for the table beside the picture."""
    names = [s.name for s in chart.series]
    if chart.target is not None:
        names.append(chart.target_name or str(chart.target))
    rows = []
    for index, label in enumerate(chart.labels):
        row = [str(label)]
        for series in chart.series:
            value = series.values[index] if index < len(series.values) else None
            row.append("—" if value is None else _number(value))
        if chart.target is not None:
            row.append(_number(chart.target))
        rows.append(row)
    return ChartTable(header=[label_heading, *names], rows=rows)


def _number(value: float | int) -> str:
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.1f}"
    return str(int(value))


def _safe_id(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", key)[:40] or "chart"
