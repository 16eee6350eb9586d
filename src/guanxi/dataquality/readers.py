"""Streaming readers for import files: CSV (UTF-8 or GB18030, any common delimiter),
XLSX (first sheet) and JSON (an array of objects, or one object per line). Each yields
(line number, {column: text}) without loading the file, so memory stays flat."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from guanxi.core.errors import FieldError, InvalidInput

FORMATS = ("csv", "xlsx", "json")

# Limits for hostile or broken files, each with its own message.
MAX_COLUMNS = 500                 # a header wider than this is not a customer list
MAX_CELL = 32_767                 # Excel's own limit for one cell
MAX_DEPTH = 10                    # JSON: objects within objects of one record
MAX_XLSX_RATIO = 100              # XLSX: uncompressed / compressed size of one part
SAMPLE_ROWS = 10                  # rows kept for the preview when the file is read
SAMPLE_BYTES = 256 * 1024


class FileInvalid(InvalidInput):
    """The whole file cannot be imported (format, size, shape), with the reason."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__([FieldError("file", message, name)])


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


def _decodes(head: bytes, encoding: str) -> bool:
    """The sample decodes (a character cut at its end is not an error: final=False)."""
    try:
        codecs.getincrementaldecoder(encoding)().decode(head, final=False)
        return True
    except UnicodeDecodeError:
        return False


def _encoding(path: Path) -> str:
    with path.open("rb") as fh:
        head = fh.read(65536)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if _decodes(head, "utf-8"):
        return "utf-8"
    if _decodes(head, "gb18030"):
        return "gb18030"  # Excel on Chinese Windows saves CSV this way
    raise FileInvalid(path.name, _("The file is neither UTF-8 nor GB18030 text"))


# Undecodable bytes are kept as lone surrogates (errors="surrogateescape") so that one bad
# byte rejects its row, not the file.
_UNDECODABLE = re.compile("[\udc80-\udcff]")


def _row_problem(cells: dict[str, str], number: int) -> str | None:
    for value in cells.values():
        if _UNDECODABLE.search(value):
            return _("Row %(n)s has bytes that are not valid text in this file's encoding"
                     ) % {"n": number}
        if len(value) > MAX_CELL:
            return _("Row %(n)s has a cell longer than %(max)s characters") % {
                "n": number, "max": f"{MAX_CELL:,}"}
    return None


def _header(names: list[str], path: Path) -> list[str]:
    if len(names) > MAX_COLUMNS:
        raise FileInvalid(path.name, _("The file has %(n)s columns; at most %(max)s can be "
                                       "imported") % {"n": f"{len(names):,}",
                                                      "max": MAX_COLUMNS})
    if any(len(n) > 200 for n in names):
        raise FileInvalid(path.name, _("A column heading is longer than 200 characters"))
    return names


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
    # A field may be longer than the cell limit so that the row, not the file, is refused.
    csv.field_size_limit(max(csv.field_size_limit(), MAX_CELL * 4))
    with path.open(encoding=encoding, errors="surrogateescape", newline="") as fh:
        sample = fh.read(16384)
        fh.seek(0)
        try:
            dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t|")
        except csv.Error:
            dialect = csv.excel
        reader = csv.reader(fh, dialect)
        try:
            first = _first_line(reader, path)
        except StopIteration:
            return
        header = _header([h.strip().lstrip("\ufeff") for h in first], path)
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield reader.line_num, {"__error__": _(
                    "Row %(n)s cannot be read: %(error)s") % {"n": reader.line_num,
                                                              "error": exc}}
                continue
            if not any(cell.strip() for cell in row):
                continue
            cells = {h: (row[i].strip() if i < len(row) else "")
                     for i, h in enumerate(header) if h}
            problem = _row_problem(cells, reader.line_num)
            yield reader.line_num, ({"__error__": problem} if problem else cells)


def _first_line(reader: Any, path: Path) -> list[str]:
    try:
        return list(next(reader))
    except csv.Error as exc:
        raise FileInvalid(path.name, _("The header row cannot be read: %(error)s")
                          % {"error": exc}) from None


def _check_xlsx(path: Path) -> None:
    """Refuse a zip bomb before anything unpacks it: each part's size against its
    compressed size, and the whole unpacked size against the upload limit."""
    import zipfile

    from guanxi.dataquality.limits import max_bytes

    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError):
        raise FileInvalid(path.name, _("Not a readable XLSX workbook")) from None
    total = sum(p.file_size for p in parts)
    if total > max_bytes():
        raise FileInvalid(path.name, _("The workbook unpacks to %(size)s MB; the limit is "
                                       "%(max)s MB") % {"size": total // 2**20,
                                                        "max": max_bytes() // 2**20})
    for part in parts:
        if part.file_size > 2**20 and part.file_size > MAX_XLSX_RATIO * max(
                part.compress_size, 1):
            raise FileInvalid(path.name, _(
                "The workbook part %(part)s unpacks to %(ratio)s times its size; this "
                "looks like a zip bomb, not a spreadsheet") % {
                "part": part.filename[:100],
                "ratio": part.file_size // max(part.compress_size, 1)})


def _xlsx_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    from openpyxl import load_workbook

    _check_xlsx(path)
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
        header = _header([_cell(h) for h in header_row], path)
        for number, values in enumerate(rows, start=2):
            cells = [_cell(v) for v in values[:len(header)]]
            if not any(cells):
                continue
            row = {h: (cells[i] if i < len(cells) else "") for i, h in enumerate(header) if h}
            problem = _row_problem(row, number)
            yield number, ({"__error__": problem} if problem else row)
    finally:
        book.close()


def _check_json_depth(path: Path) -> None:
    """Refuse records nested deeper than MAX_DEPTH before any record is built (a file of
    50,000 nested arrays would otherwise take gigabytes)."""
    import ijson

    depth = 0
    with path.open("rb") as fh:
        try:
            for event, _value in ijson.basic_parse(fh):
                if event in ("start_map", "start_array"):
                    depth += 1
                    if depth > MAX_DEPTH + 1:  # + the array around the records
                        raise FileInvalid(path.name, _(
                            "The JSON is nested more than %(max)s levels deep")
                            % {"max": MAX_DEPTH})
                elif event in ("end_map", "end_array"):
                    depth -= 1
        except ijson.JSONError as exc:
            raise FileInvalid(path.name, _("Not valid JSON: %(error)s")
                              % {"error": str(exc)[:200]}) from exc


def _depth(value: Any) -> int:
    """Nesting of a decoded value, without recursion."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        item, level = todo.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            todo.extend((v, level + 1) for v in (item.values() if isinstance(item, dict)
                                                 else item))
    return deepest


def _json_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    import ijson

    with path.open("rb") as fh:
        first = fh.read(1024).lstrip()
        fh.seek(0)
        if first.startswith(b"["):
            _check_json_depth(path)
            try:
                for number, item in enumerate(ijson.items(fh, "item", use_float=True),
                                              start=1):
                    yield number, _json_object(item, number)
            except ijson.JSONError as exc:
                raise FileInvalid(path.name, _("Not valid JSON: %(error)s")
                                  % {"error": str(exc)[:200]}) from exc
            return
        lines = io.TextIOWrapper(fh, encoding="utf-8-sig", errors="surrogateescape")
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            if len(line) > MAX_CELL * MAX_COLUMNS or _UNDECODABLE.search(line):
                yield number, {"__error__": _("Line %(n)s is too long or not UTF-8 text")
                               % {"n": number}}
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, {"__error__": _("Line %(n)s is not valid JSON: %(error)s")
                               % {"n": number, "error": exc.msg}}
                continue
            except RecursionError:
                item = None  # deeper than Python's own limit, so deeper than ours
            if item is None or _depth(item) > MAX_DEPTH:
                yield number, {"__error__": _("Line %(n)s is nested more than %(max)s levels "
                                              "deep") % {"n": number, "max": MAX_DEPTH}}
                continue
            yield number, _json_object(item, number)


def _json_object(item: Any, number: int) -> dict[str, str]:
    if not isinstance(item, dict):
        return {"__error__": _("Record %(n)s is not an object") % {"n": number}}
    if len(item) > MAX_COLUMNS:
        return {"__error__": _("Record %(n)s has more than %(max)s fields")
                % {"n": number, "max": MAX_COLUMNS}}
    out: dict[str, str] = {}
    for key, value in item.items():
        if isinstance(value, list):
            out[str(key)] = ", ".join(_cell(v) for v in value)
        elif isinstance(value, dict):
            out[str(key)] = json.dumps(value, ensure_ascii=False)
        else:
            out[str(key)] = _cell(value)
    problem = _row_problem(out, number)
    return {"__error__": problem} if problem else out


def read_rows(path: Path, fmt: str) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number as a person finds it in the file, {column: value}) for each record."""
    readers = {"csv": _csv_rows, "xlsx": _xlsx_rows, "json": _json_rows}
    return readers[fmt](path)


def inspect_file(path: Path, fmt: str, scan: int = 200
                 ) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The columns (JSON: the keys of the first `scan` records) and the first rows for
    the preview (at most SAMPLE_ROWS, SAMPLE_BYTES). Raises FileInvalid with the reason
    for a file that cannot be imported. The worker calls this, never the web process."""
    columns: dict[str, None] = {}
    sample: list[tuple[int, dict[str, str]]] = []
    size = 0
    for i, (number, row) in enumerate(read_rows(path, fmt)):
        columns.update(dict.fromkeys(k for k in row if k != "__error__"))
        if len(columns) > MAX_COLUMNS:
            _header(list(columns), path)
        if len(sample) < SAMPLE_ROWS:
            size += sum(len(k) + len(v) for k, v in row.items())
            if size <= SAMPLE_BYTES:
                sample.append((number, row))
        if i >= (scan if fmt == "json" else SAMPLE_ROWS - 1):
            break
    return list(columns), sample
