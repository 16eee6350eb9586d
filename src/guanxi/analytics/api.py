"""REST endpoints for customer scores."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from guanxi.analytics import selectors
from guanxi.core.apitypes import Id, Limit
from guanxi.core.errors import NotFound

router = Router(tags=["analytics"])


class ScoreOut(Schema):
    customer_id: Id
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
    segment_id: Id | None = None
    cursor: str | None = None
    limit: Limit = 100


@router.get("/scores", response=ScorePage,
            summary="RFM, tier, stage, lifetime value and churn risk, by customer number")
def scores_list(request: HttpRequest, filters: Query[ScoreFilters]) -> Any:
    return selectors.score_list(actor=request.user, **filters.dict())


@router.get("/customers/{customer_id}/score", response=ScoreOut,
            summary="One customer's latest scores")
def scores_get(request: HttpRequest, customer_id: Id) -> Any:
    score = selectors.customer_score_get(actor=request.user, customer_id=customer_id)
    if score is None:
        raise NotFound("Not scored yet")
    return score


class SegmentIn(Schema):
    name: str
    rules: dict[str, Any]
    purpose: Literal["", "marketing"] | None = Field(
        None, description='"marketing": a marketing audience (only customers with a granted '
                          'marketing consent; withdrawing it removes them at once); "" '
                          "general; omitted: unchanged")


class CountIn(Schema):
    rules: dict[str, Any]


class SegmentOut(Schema):
    id: int
    name: str
    rules: dict[str, Any]
    purpose: str
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
                                    rules=payload.rules, purpose=payload.purpose))


class SizeOut(Schema):
    at: dt.datetime
    members: int
    joined: int
    left: int


@router.get("/segments", response=list[SegmentOut], summary="All segments")
def segments_list(request: HttpRequest) -> Any:
    return list(selectors.segment_list(actor=request.user))


@router.get("/segments/{segment_id}", response=SegmentOut, summary="One segment")
def segments_get(request: HttpRequest, segment_id: Id) -> Any:
    return selectors.segment_get(actor=request.user, segment_id=segment_id)


@router.put("/segments/{segment_id}", response=SegmentOut,
            summary="Change a segment's name or rules (members are refreshed)")
def segments_update(request: HttpRequest, segment_id: Id, payload: SegmentIn) -> Any:
    from guanxi.analytics.services import segment_save

    segment = selectors.segment_get(actor=request.user, segment_id=segment_id)
    return segment_save(actor=request.user, name=payload.name, rules=payload.rules,
                        segment=segment, purpose=payload.purpose)


@router.delete("/segments/{segment_id}", response={204: None}, summary="Delete a segment")
def segments_delete(request: HttpRequest, segment_id: Id) -> Any:
    from ninja.responses import Status

    from guanxi.analytics.services import segment_delete

    segment_delete(actor=request.user,
                   segment=selectors.segment_get(actor=request.user, segment_id=segment_id))
    return Status(204, None)


@router.post("/segments/{segment_id}/refresh", response=SizeOut,
             summary="Recompute the members now")
def segments_refresh(request: HttpRequest, segment_id: Id) -> Any:
    from guanxi.analytics.services import segment_refresh_now

    return segment_refresh_now(
        actor=request.user,
        segment=selectors.segment_get(actor=request.user, segment_id=segment_id))


@router.get("/segments/{segment_id}/sizes", response=list[SizeOut],
            summary="The size at each refresh, oldest first (the size-over-time chart)")
def segments_sizes(request: HttpRequest, segment_id: Id) -> Any:
    return selectors.segment_sizes(
        segment=selectors.segment_get(actor=request.user, segment_id=segment_id))


@router.get("/segments/{segment_id}/members", response=list[int],
            summary="Customer numbers in the segment now (audiences select by segment id)")
def segments_members(request: HttpRequest, segment_id: Id, limit: Limit = 1000) -> Any:
    return list(selectors.segment_members(actor=request.user, segment_id=segment_id)
                .order_by("pk").values_list("pk", flat=True)[:min(limit, 10000)])
