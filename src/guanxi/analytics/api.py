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
