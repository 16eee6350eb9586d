"""Reads of the analytics app."""

from __future__ import annotations

from typing import Any

from guanxi.analytics.models import CustomerScore
from guanxi.customers.selectors import visible_customers


def customer_score_get(*, actor: Any, customer_id: int) -> CustomerScore | None:
    """The customer's latest scores, if scored yet and visible to the actor."""
    return (CustomerScore.objects.filter(customer_id=customer_id,
                                         customer__in=visible_customers(actor)).first())
