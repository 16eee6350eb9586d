"""Opaque cursors for keyset pagination."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from guanxi.core.errors import InvalidInput

T = TypeVar("T")


def encode_cursor(values: Sequence[object]) -> str:
    raw = json.dumps(list(values), separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, *, arity: int, field_name: str = "cursor") -> list | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError) as exc:
        raise InvalidInput.single(field_name, "Malformed cursor", cursor) from exc
    if not isinstance(values, list) or len(values) != arity:
        raise InvalidInput.single(field_name, "Malformed cursor", cursor)
    return values


@dataclass
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None = None
