"""Durable cursors over the whole timeline, for consumers that must see every event
exactly once (automation triggers, webhook deliveries, KPI counters).

`consume(name, handler)` reads the next events after the consumer's position and calls
`handler(events)` inside the same transaction that moves the position: whatever the
handler writes to the database commits together with the cursor, or neither does.

On PostgreSQL, ids are taken when a row is inserted but become visible at commit, so a
reader ordering by id alone could pass over an id whose transaction is still open. Each
event row therefore carries the id of the transaction that wrote it (`xid`, filled by a
column default, see migration customers 0005), and a reader takes only events of
transactions older than every one still running (`pg_snapshot_xmin`), in (xid, id)
order. SQLite runs one writer at a time, so ids commit in order there."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connection, transaction

from guanxi.timeline.models import ConsumerCursor
from guanxi.timeline.store import event_model, event_table

BATCH = 500


def cursor_open(name: str, *, from_start: bool = False) -> ConsumerCursor:
    """The consumer's cursor; a new one starts after the newest event (or at the first
    event, with `from_start`)."""
    cursor = ConsumerCursor.objects.filter(name=name).first()
    if cursor is not None:
        return cursor
    xid, event_id = (0, 0) if from_start else _head()
    cursor, _created = ConsumerCursor.objects.get_or_create(
        name=name, defaults={"xid": xid, "event_id": event_id})
    return cursor


def _head() -> tuple[int, int]:
    with connection.cursor() as c:
        if connection.vendor == "postgresql":
            c.execute(f"SELECT xid, id FROM {event_table()} ORDER BY xid DESC, id DESC LIMIT 1")
        else:
            c.execute(f"SELECT 0, MAX(id) FROM {event_table()}")
        row = c.fetchone()
    return (int(row[0] or 0), int(row[1] or 0)) if row else (0, 0)


def _after(xid: int, event_id: int) -> tuple[str, list[int], str]:
    """The events after a position that a reader may take now: (WHERE clause, its
    parameters, ORDER BY clause)."""
    if connection.vendor == "postgresql":
        return ("(xid, id) > (%s, %s) "
                "AND xid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint",
                [xid, event_id], "xid, id")
    return "id > %s", [event_id], "id"


def _next_ids(xid: int, event_id: int, limit: int) -> list[tuple[int, int]]:
    where, params, order = _after(xid, event_id)
    column = "xid" if connection.vendor == "postgresql" else "0"
    with connection.cursor() as c:
        c.execute(f"SELECT {column}, id FROM {event_table()} WHERE {where} "
                  f"ORDER BY {order} LIMIT %s", [*params, limit])
        return [(int(a), int(b)) for a, b in c.fetchall()]


def pending(name: str, *, cap: int = 100_000) -> int:
    """Events the consumer has not read yet (that it could read now), counted by the
    database up to `cap`."""
    cursor = cursor_open(name)
    where, params, _order = _after(cursor.xid, cursor.event_id)
    with connection.cursor() as c:
        c.execute(f"SELECT COUNT(*) FROM (SELECT 1 FROM {event_table()} WHERE {where} "
                  f"LIMIT %s) AS waiting", [*params, cap])
        row = c.fetchone()
    return int(row[0]) if row else 0


def consume(name: str, handler: Callable[[list[Any]], None], *, limit: int = BATCH) -> int:
    """Hand the consumer's next events (at most `limit`, oldest first) to `handler` and
    move its cursor past them, in one transaction. Returns how many were handled; a
    handler that raises leaves the cursor where it was."""
    cursor_open(name)
    with transaction.atomic():
        cursor = ConsumerCursor.objects.select_for_update().get(name=name)
        ids = _next_ids(cursor.xid, cursor.event_id, limit)
        if not ids:
            return 0
        by_id = event_model().objects.in_bulk([i for _x, i in ids])
        events = [by_id[i] for _x, i in ids if i in by_id]
        handler(events)
        cursor.xid, cursor.event_id = ids[-1]
        cursor.events_read += len(ids)
        cursor.save(update_fields=["xid", "event_id", "events_read", "updated_at"])
    return len(ids)
