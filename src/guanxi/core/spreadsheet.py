"""Spreadsheet safety for exports."""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterator
from typing import Any

from django.http import StreamingHttpResponse

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """Neutralise cells a spreadsheet would run as a formula (CSV injection)."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_PREFIXES):
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
