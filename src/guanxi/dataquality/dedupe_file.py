"""`guanxi dedupe FILE`: identity resolution on any CSV, without a database."""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from guanxi.dataquality.matching import (
    CLUSTER_THRESHOLD,
    FIELDS,
    find_matches,
    standardize_records,
)


class DedupeFileError(ValueError):
    """The input or the mapping cannot be used; the message says which part and why."""


def parse_mapping(items: Sequence[str], columns: Sequence[str]) -> dict[str, list[str]]:
    """['given=given_name', 'surname=family_name'] -> {field: [source columns]}."""
    mapping: dict[str, list[str]] = {}
    for item in items:
        source, sep, target = item.rpartition("=")
        if not sep or not source or not target:
            raise DedupeFileError(f"--map {item!r}: write it as SOURCE_COLUMN=FIELD")
        if target not in FIELDS:
            raise DedupeFileError(f"--map {item!r}: unknown field {target!r}; "
                                  f"choose from {', '.join(FIELDS)}")
        if source not in columns:
            raise DedupeFileError(f"--map {item!r}: the file has no column {source!r} "
                                  f"(it has {', '.join(columns)})")
        mapping.setdefault(target, []).append(source)
    if not mapping:
        raise DedupeFileError("map at least one column, e.g. --map name=full_name")
    return mapping


def dedupe_file(source: Path, out: Path, *, id_column: str, mapping: Sequence[str],
                threshold: float = CLUSTER_THRESHOLD, region: str = "CN",
                progress: Callable[[str], None] = lambda _s: None) -> dict[str, float]:
    started = time.perf_counter()
    progress("read")
    try:
        raw = pd.read_csv(source, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise DedupeFileError(f"{source}: no such file") from exc
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DedupeFileError(f"{source}: not a readable UTF-8 CSV file ({exc})") from exc
    if id_column not in raw.columns:
        raise DedupeFileError(f"--id-column {id_column!r}: the file has no such column "
                              f"(it has {', '.join(raw.columns)})")
    duplicated = raw[id_column].duplicated()
    if duplicated.any():
        row = int(duplicated.to_numpy().argmax()) + 2  # header is line 1
        raise DedupeFileError(f"line {row}: id {raw[id_column].iloc[row - 2]!r} appears "
                              f"twice; ids must be unique")
    fields = parse_mapping(mapping, list(raw.columns))
    frame = pd.DataFrame({"id": raw[id_column]})
    for target, sources in fields.items():
        frame[target] = raw[sources].agg(" ".join, axis=1).str.strip() if len(
            sources) > 1 else raw[sources[0]]
    progress("standardise")
    records = standardize_records(frame, region=region)
    result = find_matches(records, cluster_threshold=threshold, progress=progress)
    progress("write")
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "cluster_id"])
        writer.writerows(zip(result.clusters["unique_id"], result.clusters["cluster_id"],
                             strict=True))
    return {"records": len(records), "clusters": int(result.clusters["cluster_id"].nunique()),
            "seconds": time.perf_counter() - started}
