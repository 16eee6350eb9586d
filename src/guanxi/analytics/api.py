"""REST endpoints for customer scores."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema

from guanxi.analytics import selectors
from guanxi.core.errors import NotFound

router = Router(tags=["analytics"])


class ScoreOut(Schema):
    customer_id: int
    stage: str
    tier: str
    cell: str
    r: int | None
    f: int | None
    m: int | None
    recency_days: float | None
    frequency: int
    monetary: float
    expected_purchases: float | None
    p_alive: float | None
    clv: float | None
    churn_risk: float | None
    churn_reasons: list[list[Any]]
    scored_at: dt.datetime


class ScorePage(Schema):
    items: list[ScoreOut]
    next_cursor: str | None


class ScoreFilters(Schema):
    stage: str = ""
    tier: str = ""
    segment_id: int | None = None
    cursor: str | None = None
    limit: int = 100


@router.get("/scores", response=ScorePage,
            summary="RFM, tier, stage, lifetime value and churn risk, by customer number")
def scores_list(request: HttpRequest, filters: Query[ScoreFilters]) -> Any:
    return selectors.score_list(actor=request.user, **filters.dict())


@router.get("/customers/{customer_id}/score", response=ScoreOut,
            summary="One customer's latest scores")
def scores_get(request: HttpRequest, customer_id: int) -> Any:
    score = selectors.customer_score_get(actor=request.user, customer_id=customer_id)
    if score is None:
        raise NotFound("Not scored yet")
    return score


class SegmentIn(Schema):
    name: str
    rules: dict[str, Any]


class CountIn(Schema):
    rules: dict[str, Any]


class SegmentOut(Schema):
    id: int
    name: str
    rules: dict[str, Any]
    member_count: int
    refreshed_at: dt.datetime | None


@router.post("/segments/count", response=dict,
             summary="How many customers match these rules now (the live count)")
def segments_count(request: HttpRequest, payload: CountIn) -> Any:
    return {"count": selectors.segment_count(actor=request.user, rules=payload.rules)}


@router.post("/segments", response={201: SegmentOut}, summary="Create a segment")
def segments_create(request: HttpRequest, payload: SegmentIn) -> Any:
    from ninja.responses import Status

    from guanxi.analytics.services import segment_save

    return Status(201, segment_save(actor=request.user, name=payload.name,
                                    rules=payload.rules))


@router.get("/segments/{segment_id}/members", response=list[int],
            summary="Customer numbers in the segment now (audiences select by segment id)")
def segments_members(request: HttpRequest, segment_id: int, limit: int = 1000) -> Any:
    return list(selectors.segment_members(actor=request.user, segment_id=segment_id)
                .order_by("pk").values_list("pk", flat=True)[:min(limit, 10000)])
