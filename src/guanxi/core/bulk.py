"""Fast multi-row inserts through the database cursor, for the high-volume write paths
(event ingest, seeding) where building a model instance per row costs more than the insert."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection


def insert_rows(table: str, columns: Sequence[str], rows: Sequence[Sequence[object]], *,
                ignore_conflicts: bool = False) -> int:
    """Insert and return how many rows were added (conflicting rows are not counted).
    Values must already be adapted (connection.ops.adapt_*); JSON as text."""
    if not rows:
        return 0
    placeholders = ", ".join(["%s"] * len(columns))
    # ON CONFLICT DO NOTHING is understood by SQLite >= 3.24 and PostgreSQL alike.
    suffix = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    sql = (f"INSERT INTO {table} ({', '.join(columns)}) "
           f"VALUES ({placeholders}){suffix}")
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)
        return cursor.rowcount
