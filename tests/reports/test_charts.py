"""Charts drawn on the server (reports.charts): self-contained, accessible SVG with a table of the same numbers."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from django.template.loader import render_to_string

from otklik.reports.charts import Chart, Series, chart_svg, chart_table

SVG = "{http://www.w3.org/2000/svg}"


def _load() -> Chart:
    return Chart(
        key="load",
        title="Load <by day>",
        description="Tickets created and closed each day",
        labels=["01.12", "02.12", "03.12"],
        series=[Series("created", [3, 5, 2]), Series("closed", [1, None, 4])],
    )


@pytest.mark.parametrize("kind", ["bar", "stacked", "line"])
def test_chart_svg_is_one_self_contained_svg_element_without_script_or_web_addresses(kind):
    chart = Chart(**{**_load().__dict__, "kind": kind})
    svg = str(chart_svg(chart))
    root = ET.fromstring(svg)  # well-formed XML, one root
    assert root.tag == f"{SVG}svg"
    assert "<script" not in svg.lower() and "<?xml" not in svg
    # Nothing to fetch: the only address is the SVG namespace itself.
    assert set(re.findall(r"https?://[^\s\"'<>]+", svg)) <= {"http://www.w3.org/2000/svg"}
    assert 'viewBox="0 0 720 320"' in svg and "width=" not in svg.split(">", 1)[0]


def test_chart_svg_is_named_for_screen_readers_and_escapes_its_texts():
    svg = str(chart_svg(_load()))
    root = ET.fromstring(svg)
    assert root.get("role") == "img"
    assert root.get("aria-label") == "Load <by day>"  # escaped in the markup, read back as text
    assert root.find(f"{SVG}desc").text == "Tickets created and closed each day"
    assert "<by day>" not in svg


def test_chart_svg_is_reproducible():
    assert str(chart_svg(_load())) == str(chart_svg(_load()))
    assert 'id="chart-load"' in str(chart_svg(_load()))


def test_line_chart_draws_the_target_as_a_dashed_series_in_the_legend():
    chart = Chart(
        key="response",
        kind="line",
        title="First response",
        labels=["Oct", "Nov"],
        series=[Series("median", [2.5, 5.0])],
        target=4,
        target_name="about 4 working hours",
    )
    svg = str(chart_svg(chart))
    assert "about 4 working hours" in svg and "stroke-dasharray:6,4" in svg.replace(" ", "")


def test_a_target_on_a_bar_chart_is_refused():
    with pytest.raises(ValueError):
        chart_svg(Chart(**{**_load().__dict__, "target": 4.0}))


def test_chart_table_holds_every_number_with_a_dash_for_a_missing_one():
    table = chart_table(_load(), label_heading="day")
    assert table.header == ["day", "created", "closed"]
    assert table.rows == [["01.12", "3", "1"], ["02.12", "5", "—"], ["03.12", "2", "4"]]
    with_target = chart_table(
        Chart(key="r", kind="line", title="t", labels=["a"], series=[Series("m", [2.25])], target=4)
    )
    assert with_target.rows == [["a", "2.2", "4"]]


def test_chart_template_shows_the_picture_and_the_table():
    chart = _load()
    html = render_to_string(
        "reports/_chart.html",
        {"key": chart.key, "svg": chart_svg(chart), "table": chart_table(chart, label_heading="day")},
    )
    assert html.count("<svg") == 1 and "<table" in html
    assert '<th scope="row">02.12</th>' in html and "&lt;by day&gt;" in html


def test_chart_colours_give_meaning_to_the_series_and_labels_are_not_cut():
    chart = Chart(
        key="sla",
        title="Within and breached",
        labels=["September 2026", "October 2026"],
        series=[Series("within", [3, 4]), Series("breached", [1, 0])],
        kind="stacked",
        colours=("#16a34a", "#dc2626"),
    )
    svg = str(chart_svg(chart))
    assert "#16a34a" in svg and "#dc2626" in svg
    assert "September 2026" in svg and "Septem…" not in svg
