"""Neutralise CSV cells that a spreadsheet program would run as a formula (CSV injection)."""

from __future__ import annotations

from collections.abc import Iterable

# A cell starting with one of these is read as a formula (or a DDE call) by Excel, LibreOffice and Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: object) -> object:
    """Return `value` with a single quote in front when it is text a spreadsheet would run as a formula.

    Only text is touched: numbers written by the exporter (a negative count) are data, not formulas.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_safe_row(values: Iterable[object]) -> list[object]:
    """Return a row with every cell passed through csv_safe()."""
    return [csv_safe(value) for value in values]
