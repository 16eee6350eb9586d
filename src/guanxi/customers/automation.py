"""The customers app's automation actions (registered in CustomersConfig.ready()): add or
remove a tag. Both do nothing when the customer already is as asked, so a retried step
(the same key) never writes twice."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from guanxi.customers.models import Customer, CustomerTag
from guanxi.customers.services import tags_apply_automatic


def _tagged(customer_id: int, name: str) -> bool:
    return CustomerTag.objects.filter(customer_id=customer_id, tag__name=name).exists()


def tag_add(*, customer_id: int, config: Mapping[str, Any], key: str) -> dict[str, Any]:
    name = " ".join(str(config["tag"]).split())[:50]
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        return {"done": False, "why": "customer gone"}
    if _tagged(customer_id, name):
        return {"done": False, "why": "already tagged"}
    tags_apply_automatic(customer=customer, add=[name], remove=[])
    return {"done": True, "tag": name}


def tag_remove(*, customer_id: int, config: Mapping[str, Any], key: str) -> dict[str, Any]:
    name = str(config["tag"])
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        return {"done": False, "why": "customer gone"}
    if not _tagged(customer_id, name):
        return {"done": False, "why": "not tagged"}
    tags_apply_automatic(customer=customer, add=[], remove=[name])
    return {"done": True, "tag": name}
