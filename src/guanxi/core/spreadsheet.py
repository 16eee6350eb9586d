"""Spreadsheet safety for exports."""

from __future__ import annotations

import csv
import itertools
import re
import unicodedata
from collections.abc import Iterator
from typing import Any

from django.http import HttpResponse, StreamingHttpResponse

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# Control characters no spreadsheet cell may hold (XML 1.0 forbids them in XLSX; in a CSV
# a NUL before "=" hides a formula from a naive check). Tab, newline and CR stay.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def safe_cell(value: object) -> str:
    """Neutralise cells a spreadsheet would run as a formula (CSV injection): control
    characters removed, then a cell that starts with a formula sign — also its full-width
    form (＝, ＋, －, ＠), which spreadsheets read as the ASCII sign — gets a leading
    apostrophe."""
    text = CONTROL.sub("", "" if value is None else str(value))
    first = unicodedata.normalize("NFKC", text.lstrip(" ")[:1])
    if text.startswith(FORMULA_PREFIXES) or first.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_download(rows: Iterator[list[Any]], filename: str) -> StreamingHttpResponse:
    """Stream rows (header first) as a UTF-8 CSV Excel opens correctly. The header is
    taken before the response starts, so the generator's permission check and audit
    entry happen while an error can still become a proper error page."""
    writer = csv.writer(_Echo())
    header = writer.writerow(next(rows))
    body = itertools.chain(["\ufeff", header], (writer.writerow(r) for r in rows))
    response = StreamingHttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_download(rows: Iterator[list[Any]], filename: str, *, sheet: str = "Sheet1"
                  ) -> HttpResponse:
    """The same rows as an Excel workbook (header first, bold and frozen). Built with
    openpyxl's write-only mode, which keeps one row in memory at a time; the header is
    taken first for the same reason as in csv_download."""
    import tempfile

    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    header = next(rows)
    book = Workbook(write_only=True)
    ws = book.create_sheet(str(sheet)[:31])
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    cells = []
    for title in header:
        cell = WriteOnlyCell(ws, value=str(title))
        cell.font = bold
        cells.append(cell)
    ws.append(cells)
    for row in rows:
        ws.append([safe_cell(v) for v in row])
    with tempfile.TemporaryFile() as tmp:
        book.save(tmp)
        tmp.seek(0)
        response = HttpResponse(tmp.read(), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
