"""Streaming readers for import files: CSV (UTF-8 or GB18030, any common delimiter),
XLSX (first sheet) and JSON (an array of objects, or one object per line). Each yields
(line number, {column: text}) without loading the file, so memory stays flat."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from guanxi.core.errors import InvalidInput

FORMATS = ("csv", "xlsx", "json")


def detect_format(filename: str) -> str:
    suffix = Path(filename).suffix.lower().lstrip(".")
    if suffix in ("csv", "txt", "tsv"):
        return "csv"
    if suffix in ("xlsx", "xlsm"):
        return "xlsx"
    if suffix in ("json", "jsonl", "ndjson"):
        return "json"
    raise InvalidInput.single("file", _("Unsupported file type %(ext)s; upload CSV, XLSX or "
                                        "JSON") % {"ext": suffix or "?"}, filename)


def _encoding(path: Path) -> str:
    head = path.open("rb").read(65536)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start > len(head) - 4:  # a character cut at the end of the sample
            return "utf-8"
    try:
        head.decode("gb18030")
        return "gb18030"  # Excel on Chinese Windows saves CSV this way
    except UnicodeDecodeError:
        raise InvalidInput.single("file", _("The file is neither UTF-8 nor GB18030 text"),
                                  path.name) from None


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel keeps phone numbers and ids as floats
    return str(value).strip()


def _csv_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    encoding = _encoding(path)
    with path.open(encoding=encoding, newline="") as fh:
        sample = fh.read(16384)
        fh.seek(0)
        try:
            dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t|")
        except csv.Error:
            dialect = csv.excel
        reader = csv.reader(fh, dialect)
        header = next(reader, None)
        if not header:
            return
        header = [h.strip().lstrip("\ufeff") for h in header]
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            yield reader.line_num, {h: (row[i].strip() if i < len(row) else "")
                                    for i, h in enumerate(header) if h}


def _xlsx_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise InvalidInput.single("file", _("Not a readable XLSX workbook"), path.name
                                  ) from exc
    try:
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header_row = next(rows, None)
        if not header_row:
            return
        header = [_cell(h) for h in header_row]
        for number, values in enumerate(rows, start=2):
            cells = [_cell(v) for v in values]
            if not any(cells):
                continue
            yield number, {h: (cells[i] if i < len(cells) else "")
                           for i, h in enumerate(header) if h}
    finally:
        book.close()


def _json_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    import ijson

    with path.open("rb") as fh:
        first = fh.read(1024).lstrip()
        fh.seek(0)
        if first.startswith(b"["):
            try:
                for number, item in enumerate(ijson.items(fh, "item", use_float=True),
                                              start=1):
                    yield number, _json_object(item, number)
            except ijson.JSONError as exc:
                raise InvalidInput.single("file", _("Not valid JSON: %(error)s")
                                          % {"error": exc}, path.name) from exc
            return
        for number, line in enumerate(io.TextIOWrapper(fh, encoding="utf-8-sig"), start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, {"__error__": _("Line %(n)s is not valid JSON: %(error)s")
                               % {"n": number, "error": exc.msg}}
                continue
            yield number, _json_object(item, number)


def _json_object(item: Any, number: int) -> dict[str, str]:
    if not isinstance(item, dict):
        return {"__error__": _("Record %(n)s is not an object") % {"n": number}}
    out: dict[str, str] = {}
    for key, value in item.items():
        if isinstance(value, list):
            out[str(key)] = ", ".join(_cell(v) for v in value)
        elif isinstance(value, dict):
            out[str(key)] = json.dumps(value, ensure_ascii=False)
        else:
            out[str(key)] = _cell(value)
    return out


def read_rows(path: Path, fmt: str) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number as a person finds it in the file, {column: value}) for each record."""
    readers = {"csv": _csv_rows, "xlsx": _xlsx_rows, "json": _json_rows}
    return readers[fmt](path)


def read_columns(path: Path, fmt: str, sample: int = 200) -> list[str]:
    """Column names, in file order (JSON: the keys seen in the first records)."""
    columns: dict[str, None] = {}
    for i, (_n, row) in enumerate(read_rows(path, fmt)):
        columns.update(dict.fromkeys(k for k in row if k != "__error__"))
        if fmt != "json" or i >= sample:
            break
    return list(columns)
