"""Every report table as a download: CSV (UTF-8 with BOM, formula-safe) or XLSX, with the list's helpers."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable

from django.http import FileResponse, HttpResponse

FORMATS = ("csv", "xlsx")


def table_response(rows: Iterable[Iterable[object]], filename: str, fmt: str) -> HttpResponse:
    """Return the rows (the header first) as an attachment named `filename`.csv or .xlsx."""
    from otklik.core.csv_safe import csv_safe_row
    from otklik.core.xlsx import write_xlsx

    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        for values in rows:
            writer.writerow(csv_safe_row(list(values)))
        response = HttpResponse("\ufeff" + buffer.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
        return response
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    write_xlsx(spool, rows, sheet_name=filename[:31])
    spool.seek(0)
    return FileResponse(
        spool,
        as_attachment=True,
        filename=f"{filename}.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
