"""Reads of the analytics app."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from guanxi.analytics.models import CustomerScore
from guanxi.core.cursors import Page, decode_cursor, encode_cursor
from guanxi.customers.selectors import visible_customers

MAX_PAGE = 500


def customer_score_get(*, actor: Any, customer_id: int) -> CustomerScore | None:
    """The customer's latest scores, if scored yet and visible to the actor."""
    return (CustomerScore.objects.filter(customer_id=customer_id,
                                         customer__in=visible_customers(actor)).first())


def _scores(actor: Any, stage: str, tier: str) -> QuerySet[CustomerScore]:
    qs = CustomerScore.objects.filter(customer__in=visible_customers(actor)).select_related(
        "customer")
    if stage:
        qs = qs.filter(stage=stage)
    if tier:
        qs = qs.filter(tier=tier)
    return qs


def score_list(*, actor: Any, stage: str = "", tier: str = "", cursor: str | None = None,
               limit: int = 100) -> Page[CustomerScore]:
    """Scores of the customers the actor may see, by customer number, a page at a time."""
    limit = max(1, min(limit, MAX_PAGE))
    qs = _scores(actor, stage, tier)
    after = decode_cursor(cursor, arity=1)
    if after:
        qs = qs.filter(customer_id__gt=int(after[0]))
    rows = list(qs.order_by("customer_id")[:limit + 1])
    next_cursor = encode_cursor([rows[limit - 1].customer_id]) if len(rows) > limit else None
    return Page(items=rows[:limit], next_cursor=next_cursor)


def segment_count(*, actor: Any, rules: dict[str, Any]) -> int:
    """The live count while editing: customers the actor may see who match now."""
    from guanxi.analytics.segments import compile_rules

    return visible_customers(actor).filter(compile_rules(rules)).count()


def segment_members(*, actor: Any, segment_id: int) -> QuerySet[Any]:
    """Current members the actor may see: what messages, campaigns and exports select."""
    from guanxi.analytics.models import SegmentMembership

    return (visible_customers(actor)
            .filter(pk__in=SegmentMembership.objects.filter(
                segment_id=segment_id, left_at__isnull=True).values("customer_id")))
