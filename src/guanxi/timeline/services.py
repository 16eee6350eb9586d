"""The one way onto the timeline: `event_append` (one event, as a model row) for the
services that cause it, and `events_append_many` (many, by multi-row INSERT or
PostgreSQL COPY) for ingest, scoring and seeding. Both check the kind and its data
against the registry; neither checks permissions (the calling service has)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.utils import timezone

from guanxi.core.bulk import insert_rows
from guanxi.core.permissions import Actor
from guanxi.timeline.kinds import check_data
from guanxi.timeline.store import COLUMNS, event_model, event_table

SUMMARY_MAX = 500


def _actor_id(actor: Actor) -> int | None:
    pk = getattr(actor, "pk", None)
    return pk if isinstance(pk, int) else None


def event_append(*, customer_id: int, kind: str, actor: Actor = None,
                 occurred_at: dt.datetime | None = None, data: Mapping[str, Any] | None = None,
                 summary: str = "", channel: str = "", source: str = "",
                 order_id: int | None = None, idempotency_key: str | None = None) -> Any:
    """Append one event and return its row. `summary` is free text only (a note, a
    message); what Guanxi itself records goes in `data` and is rendered when shown."""
    payload = dict(data or {})
    check_data(kind, payload)
    return event_model().objects.create(
        customer_id=customer_id, kind=kind, occurred_at=occurred_at or timezone.now(),
        actor_id=_actor_id(actor), summary=summary[:SUMMARY_MAX], data=payload,
        channel=channel[:20], source=source[:40], order_id=order_id,
        idempotency_key=idempotency_key)


@dataclass(slots=True)
class NewEvent:
    customer_id: int
    kind: str
    occurred_at: dt.datetime
    data: Mapping[str, Any] = field(default_factory=dict)
    summary: str = ""
    channel: str = ""
    source: str = ""
    actor_id: int | None = None
    order_id: int | None = None
    idempotency_key: str | None = None
    id: int | None = None  # given only by seeding, which allocates ids itself


def events_append_many(events: Iterable[NewEvent], *, skip_duplicates: bool = False,
                       recorded_at: dt.datetime | None = None, checked: bool = False,
                       with_ids: bool = False) -> int:
    """Append many events in timeline order (customer, time) and return how many were
    written. With `skip_duplicates`, an event whose idempotency key exists already (from
    an earlier call, this batch or a concurrent one) is left out by the unique index.
    `checked`: the caller has validated kinds and data (ingest does, with field errors)."""
    return event_rows_append(event_rows(events, recorded_at=recorded_at, checked=checked,
                                        with_ids=with_ids),
                             skip_duplicates=skip_duplicates, with_ids=with_ids)


def event_rows(events: Iterable[NewEvent], *, recorded_at: dt.datetime | None = None,
               checked: bool = False, with_ids: bool = False) -> list[tuple[Any, ...]]:
    """The rows events_append_many writes, checked and in timeline order; needs no
    database connection, so a process generating events (seeding) can build them while
    another writes."""
    adapt = connection.ops.adapt_datetimefield_value
    recorded = adapt(recorded_at or timezone.now())
    dumps = json.JSONEncoder(ensure_ascii=False, default=DjangoJSONEncoder().default).encode
    rows: list[tuple[Any, ...]] = []
    for e in events:
        if not checked:
            check_data(e.kind, e.data)
        row = (e.customer_id, e.kind, adapt(e.occurred_at), recorded, e.channel[:20],
               e.source[:40], e.actor_id, e.summary[:SUMMARY_MAX],
               dumps(e.data) if e.data else "{}", e.order_id, e.idempotency_key)
        rows.append((e.id, *row) if with_ids else row)
    # In timeline-index order, so the B-tree is walked forward once rather than at random
    # (seeding and scoring write in that order already: checking is cheaper than sorting).
    first = 1 if with_ids else 0

    def order(r: tuple[Any, ...]) -> tuple[Any, Any]:
        return r[first], r[first + 2]  # customer, occurred_at

    if any(order(a) > order(b) for a, b in pairwise(rows)):
        rows.sort(key=order)
    return rows


def event_rows_append(rows: list[tuple[Any, ...]], *, skip_duplicates: bool = False,
                      with_ids: bool = False) -> int:
    """Write rows made by event_rows (with the same `with_ids`)."""
    columns = ("id", *COLUMNS) if with_ids else COLUMNS
    return insert_rows(event_table(), columns, rows, ignore_conflicts=skip_duplicates)
