"""One event on a customer's timeline, written by the service that causes it (through
the timeline kernel, which checks the kind and its data)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from guanxi.core.permissions import Actor
from guanxi.customers.models import Customer, Event, Order
from guanxi.timeline.services import event_append


def event_record(*, customer: Customer, kind: str, actor: Actor = None,
                 occurred_at: dt.datetime | None = None, summary: str = "",
                 data: dict[str, Any] | None = None, channel: str = "", source: str = "",
                 order: Order | None = None) -> Event:
    """Append to a customer's timeline. `summary` is free text someone wrote; what the
    service records goes in `data` (rendered per viewer by the kind's registration)."""
    event: Event = event_append(
        customer_id=customer.pk, kind=kind, actor=actor, occurred_at=occurred_at,
        summary=summary, data=data, channel=channel, source=source,
        order_id=order.pk if order is not None else None)
    return event
