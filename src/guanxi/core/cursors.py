"""Opaque cursors for keyset pagination."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db.models import Q
from django.utils.translation import gettext as _

from guanxi.core.errors import InvalidInput

T = TypeVar("T")


def encode_cursor(values: Sequence[object]) -> str:
    raw = json.dumps(list(values), separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


MAX_ID = 2**63 - 1  # the largest value of a 64-bit key column


def _typed(value: object, kind: str) -> object:
    if kind == "id":
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_ID:
            return value
        raise ValueError(value)
    if kind == "text" and isinstance(value, str) and len(value) <= 400:
        return value
    if kind == "datetime" and isinstance(value, str) and len(value) <= 40:
        at = dt.datetime.fromisoformat(value)
        if at.tzinfo is None:
            raise ValueError(value)
        at.astimezone(dt.UTC)  # OverflowError near the ends of the calendar
        return at
    raise ValueError(value)


def decode_cursor(cursor: str | None, *, kinds: Sequence[str] = ("id",),
                  field_name: str = "cursor") -> list | None:
    """The values of a cursor made by encode_cursor, checked against `kinds` ("id": a
    key in the 64-bit range, "datetime": an aware ISO time): anything else is a 422."""
    if not cursor:
        return None
    try:
        if len(cursor) > 500:
            raise ValueError(cursor)
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(values, list) or len(values) != len(kinds):
            raise ValueError(values)
        return [_typed(v, k) for v, k in zip(values, kinds, strict=True)]
    except (ValueError, TypeError, OverflowError) as exc:
        raise InvalidInput.single(field_name, _("Malformed cursor"), cursor[:100]) from exc


@dataclass
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None = None
    prev_cursor: str | None = None


def keyset_page(qs: Any, *, cursor: str | None, limit: int, key: str = "pk",
                descending: bool = True, prepare: Any = None) -> Page[Any]:
    """One page of `qs` ordered by the integer column `key` (newest first by default),
    after the cursor's key: the keyset pagination every list uses. `prepare(qs)` adds
    what the page needs loaded (select_related, prefetch) after the slice is decided."""
    after = decode_cursor(cursor)
    if after:
        qs = qs.filter(**{f"{key}__{'lt' if descending else 'gt'}": int(after[0])})
    qs = qs.order_by(f"-{key}" if descending else key)
    if prepare is not None:
        qs = prepare(qs)
    rows = list(qs[:limit + 1])
    attribute = "pk" if key == "pk" else key
    next_cursor = (encode_cursor([getattr(rows[limit - 1], attribute)])
                   if len(rows) > limit else None)
    return Page(items=rows[:limit], next_cursor=next_cursor)


@dataclass(frozen=True)
class SortKey:
    """A list's order for keyset paging: a non-null column (`field`, of cursor kind
    "text", "datetime" or "id") then the primary key, both ascending or both descending."""

    field: str
    kind: str = "text"
    descending: bool = False


def sorted_page(qs: Any, *, sort: SortKey, cursor: str | None = None,
                before: str | None = None, limit: int, prepare: Any = None) -> Page[Any]:
    """One page of `qs` in `sort` order, after `cursor` (the next page) or before `before`
    (the previous one), with both cursors set where there is more. Each page is an index
    range scan on (field, id) whatever the depth, unlike OFFSET."""

    kinds = ("id",) if sort.field == "pk" else (sort.kind, "id")
    after_values = decode_cursor(cursor, kinds=kinds)
    before_values = decode_cursor(before, kinds=kinds, field_name="before")
    backwards = before_values is not None and after_values is None
    edge = before_values if backwards else after_values
    # Walking backwards is walking the reversed order forwards.
    descending = sort.descending != backwards
    op = "lt" if descending else "gt"
    if edge is not None:
        if sort.field == "pk":
            qs = qs.filter(**{f"pk__{op}": edge[0]})
        else:
            qs = qs.filter(Q(**{f"{sort.field}__{op}": edge[0]})
                           | Q(**{sort.field: edge[0], f"pk__{op}": edge[1]}))
    order = [sort.field, "pk"] if sort.field != "pk" else ["pk"]
    qs = qs.order_by(*(f"-{f}" if descending else f for f in order))
    if prepare is not None:
        qs = prepare(qs)
    rows = list(qs[:limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()

    def key(obj: Any) -> str:
        if sort.field == "pk":
            return encode_cursor([obj.pk])
        value = getattr(obj, sort.field)
        return encode_cursor([value.isoformat() if hasattr(value, "isoformat") else value, obj.pk])

    has_next = more if not backwards else True
    has_prev = (edge is not None) if not backwards else more
    return Page(items=rows,
                next_cursor=key(rows[-1]) if rows and has_next else None,
                prev_cursor=key(rows[0]) if rows and has_prev else None)
