"""The bench's counting action: one audit entry per call, no idempotency of its own."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def count(*, customer_id: int, config: Mapping[str, Any], key: str) -> dict[str, Any]:
    from guanxi.audit.services import log_action

    log_action(actor=None, action="bench.count", object_type="customer",
               object_id=str(customer_id), extra={"step": config.get("step", "")})
    return {"done": True}


def register() -> None:
    from guanxi.core.automation import ActionType, ConfigField, register_action_types

    register_action_types(ActionType("bench.count", "count", "bench", count, "customer.view",
                                     (ConfigField("step", "step"),)))
