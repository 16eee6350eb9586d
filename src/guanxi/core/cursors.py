"""Opaque cursors for keyset pagination."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

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
