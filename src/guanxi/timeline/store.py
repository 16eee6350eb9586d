"""Where the timeline's rows live. The event table belongs to the customers app (each
row is one customer's); the kernel finds it through a setting, like Django's user
model, so it never imports an app above it."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings

# The columns the bulk path writes, in order. `data` is JSON text; times are adapted.
COLUMNS = ("customer_id", "kind", "occurred_at", "recorded_at", "channel", "source",
           "actor_id", "summary", "data", "order_id", "idempotency_key")


def event_model() -> Any:
    return apps.get_model(settings.GUANXI_TIMELINE_EVENT_MODEL)


def event_table() -> str:
    return str(event_model()._meta.db_table)
