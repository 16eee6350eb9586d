"""The customers app's automation actions (registered in CustomersConfig.ready()): add or
remove a tag. Both change nothing when the customer already is as asked
(tags_apply_automatic), so a retried step (the same key) never writes twice."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from guanxi.customers.selectors import customer_for_system
from guanxi.customers.services import tags_apply_automatic


def _apply(customer_id: int, name: str, *, add: bool) -> dict[str, Any]:
    customer = customer_for_system(customer_id)
    if customer is None:
        return {"done": False, "why": "customer gone"}
    added, removed = tags_apply_automatic(customer=customer, add=[name] if add else [],
                                          remove=[] if add else [name])
    if not (added or removed):
        return {"done": False, "why": "already tagged" if add else "not tagged"}
    return {"done": True, "tag": (added or removed)[0]}


def tag_add(*, customer_id: int, config: Mapping[str, Any], key: str) -> dict[str, Any]:
    return _apply(customer_id, str(config["tag"]), add=True)


def tag_remove(*, customer_id: int, config: Mapping[str, Any], key: str) -> dict[str, Any]:
    return _apply(customer_id, str(config["tag"]), add=False)
