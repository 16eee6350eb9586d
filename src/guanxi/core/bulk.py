"""Fast multi-row inserts through the database cursor, for the high-volume write paths
(event ingest, seeding) where building a model instance per row costs more than the insert.
(Frames of scores go through guanxi.core.frames, which needs numpy and pandas; this
module does not, so importing the services does not load them.)"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from django.db import connection, transaction

COPY_FROM = 1000  # rows from which PostgreSQL gets them by COPY
_PLAIN = {"CharField", "TextField", "IntegerField", "BigIntegerField", "SmallIntegerField",
          "PositiveIntegerField", "PositiveBigIntegerField", "PositiveSmallIntegerField",
          "BooleanField", "ForeignKey", "OneToOneField"}


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
        if connection.vendor == "postgresql" and len(rows) >= COPY_FROM:
            if not ignore_conflicts:
                _copy_into(cursor, table, columns, rows)
                return len(rows)
            return _copy_skipping_conflicts(cursor, table, columns, rows)
        cursor.executemany(sql, rows)  # type: ignore[arg-type]
        return cursor.rowcount


def _adapters(fields: Sequence[Any]) -> list[Callable[[Any], Any] | None]:
    """Per field, what turns a Python value into what the driver takes: None where it
    takes the value as it is (text, numbers, booleans, ids); dates, times, JSON and
    decimals go through the field's get_db_prep_save."""
    return [None if f.get_internal_type() in _PLAIN
            else partial(f.get_db_prep_save, connection=connection) for f in fields]


def _to_db(value: Any, adapt: Callable[[Any], Any] | None) -> Any:
    return value if adapt is None or value is None else adapt(value)


def insert_objects(model: Any, rows: Sequence[dict[str, Any]], *,
                   ignore_conflicts: bool = False) -> int:
    """Insert rows of `model` given as {field name: value} (a foreign key as its instance
    or its id): what bulk_create writes, without building an instance per row (the
    search terms, identities and audit entries of an import are ~15 rows per customer).
    Missing fields take their defaults (evaluated once per call); no signals."""
    if not rows:
        return 0
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    adapters = _adapters(fields)
    defaults = {f.name: f.get_db_prep_save(f.get_default(), connection)
                for f in fields if f.has_default()}
    values = []
    for row in rows:
        out = []
        for f, adapt in zip(fields, adapters, strict=True):
            if f.name in row:
                value = row[f.name]
                if f.is_relation and hasattr(value, "pk"):
                    value = value.pk
            elif f.attname in row:
                value = row[f.attname]
            elif f.name in defaults:
                out.append(defaults[f.name])
                continue
            elif f.null:
                value = None
            else:
                raise KeyError(f"{model._meta.label}.{f.name} has no value and no default")
            out.append(_to_db(value, adapt))
        values.append(out)
    return insert_rows(model._meta.db_table, [f.column for f in fields], values,
                       ignore_conflicts=ignore_conflicts)


def update_objects(objs: Sequence[Any], fields: Sequence[str]) -> int:
    """Save `fields` of model instances (all of one model) with one prepared UPDATE run
    for each: what Model.save(update_fields=...) writes, several times faster than
    QuerySet.bulk_update's CASE expressions for many rows. No signals, no auto_now."""
    if not objs:
        return 0
    meta = objs[0]._meta
    columns = [meta.get_field(name) for name in fields]
    adapters = _adapters(columns)
    qn = connection.ops.quote_name
    sql = (f"UPDATE {qn(meta.db_table)} SET "
           f"{', '.join(f'{qn(f.column)} = %s' for f in columns)} "
           f"WHERE {qn(meta.pk.column)} = %s")
    rows = [[_to_db(getattr(obj, f.attname), adapt)
             for f, adapt in zip(columns, adapters, strict=True)] + [obj.pk] for obj in objs]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)
    return len(rows)


def _copy_skipping_conflicts(cursor: Any, table: str, columns: Sequence[str],
                             rows: Sequence[Sequence[object]]) -> int:
    """PostgreSQL: COPY into a session's staging table (emptied at every commit), then
    one INSERT ... SELECT ... ON CONFLICT DO NOTHING — several times faster than a
    statement per row, with the unique indexes still deciding what is new."""
    names = ", ".join(columns)
    # the columns' types without their constraints, one staging table per column list
    stage = f"_gx_stage_{table}_{hashlib.blake2s(names.encode(), digest_size=4).hexdigest()}"
    with transaction.atomic():  # the staging rows live until this commits
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS "
                       f"AS SELECT {names} FROM {table} WITH NO DATA")
        _copy_into(cursor, stage, columns, rows)
        cursor.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM {stage} "
                       f"ON CONFLICT DO NOTHING")
        inserted = int(cursor.rowcount)
        cursor.execute(f"DELETE FROM {stage}")  # a second batch in the same transaction
    return inserted


def _copy_into(cursor: Any, table: str, columns: Sequence[str],
               rows: Sequence[Sequence[object]]) -> None:
    """PostgreSQL COPY: an order of magnitude faster than INSERT for many rows."""
    raw = cursor.cursor  # the psycopg cursor under Django's wrapper
    with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def reserve_ids(model: Any, count: int) -> list[int]:
    """`count` primary keys for rows of `model` that the caller inserts itself with
    insert_rows (so rows of other tables can point at them before they are written). On
    PostgreSQL they come from the table's sequence; on SQLite past both the largest id
    and the AUTOINCREMENT counter — the caller's transaction holds the single write lock,
    so no one else takes them."""
    if count <= 0:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) "
                           "FROM generate_series(1, %s)", [table, model._meta.pk.column, count])
            return [row[0] for row in cursor.fetchall()]
        if not connection.in_atomic_block:
            raise RuntimeError("reserve_ids needs the caller's transaction (the write lock)")
        cursor.execute(f"SELECT MAX({model._meta.pk.column}) FROM {table}")
        largest = cursor.fetchone()[0] or 0
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        row = cursor.fetchone()
        start = max(largest, row[0] if row else 0) + 1
    return list(range(start, start + count))
