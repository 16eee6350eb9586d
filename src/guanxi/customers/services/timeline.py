"""One event on a customer's timeline, written by the service that causes it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from guanxi.customers.models import (
    Customer,
    Event,
    Order,
)


def event_record(*, customer: Customer, kind: str, actor: Any = None,
                 occurred_at: dt.datetime | None = None, summary: str = "",
                 data: dict[str, Any] | None = None, channel: str = "", source: str = "",
                 order: Order | None = None) -> Event:
    """Append to a customer's timeline. Called by the service that caused the event."""
    return Event.objects.create(
        customer=customer, kind=kind, occurred_at=occurred_at or timezone.now(),
        actor=actor if getattr(actor, "pk", None) else None, summary=summary[:500],
        data=data or {}, channel=channel, source=source, order=order)
