"""Scoring: RFM, value tier, lifecycle stage and lifetime value for every customer, with
a timeline event for each change of stage or tier (so automation can react to it)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.analytics.clv import forecast_frame, forecast_models, summary_from_transactions
from guanxi.analytics.lifecycle import LifecycleConfig, lifecycle_stages
from guanxi.analytics.models import (
    CustomerScore,
    Segment,
    SegmentMembership,
    SegmentSize,
    Stage,
    Tier,
)
from guanxi.analytics.rfm import NO_PURCHASES, RFMConfig, rfm_scores, rfm_values, value_tiers
from guanxi.analytics.segments import compile_rules
from guanxi.audit.services import log_action
from guanxi.core.errors import InvalidInput
from guanxi.core.permissions import Action, require
from guanxi.core.spreadsheet import safe_cell
from guanxi.customers.models import Customer, Event, Order, OrderStatus

FORECAST_DAYS = 90
SYSTEM_KINDS = ("customer_created", "profile_updated", "identity_added", "identity_removed",
                "consent_changed", "tag_added", "tag_removed", "customer_merged",
                "customer_unmerged", "tags_automatic", "stage_changed", "tier_changed")
MIN_REPEAT_BUYERS = 50  # fewer, and the purchase models have nothing to learn from


def _frame(rows: Any, columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame.from_records(list(rows), columns=columns)


def scores_refresh(*, actor: Any = None, as_of: dt.datetime | None = None,
                   rfm: RFMConfig | None = None, lifecycle: LifecycleConfig | None = None
                   ) -> dict[str, int]:
    """Score every customer as of `as_of` (now by default). System job: runs nightly
    and on demand; writes the scores, the change events and one audit entry."""
    as_of = as_of or timezone.now()
    rfm = rfm or RFMConfig()
    lifecycle = lifecycle or LifecycleConfig()
    customers = _frame(Customer.objects.values_list("pk", "created_at"), ["id", "created_at"])
    if customers.empty:
        return {"customers": 0, "changed": 0}
    customers = customers.set_index("id")
    orders = _frame(Order.objects.filter(status=OrderStatus.PAID, placed_at__lte=as_of)
                    .values_list("customer_id", "placed_at", "total"),
                    ["customer_id", "placed_at", "total"])
    orders["total"] = orders["total"].astype(float)
    # Activity is what the customer did, not what Guanxi recorded about them.
    activity = dict(Event.objects.filter(occurred_at__lte=as_of)
                    .exclude(kind__in=SYSTEM_KINDS).values("customer_id")
                    .annotate(last=Max("occurred_at")).values_list("customer_id", "last"))

    values = rfm_values(orders, as_of=as_of, window_days=rfm.window_days)
    scores = rfm_scores(values, rfm)
    tiers = value_tiers(scores, rfm) if len(scores) else pd.DataFrame(columns=["tier", "cell"])
    now = pd.Timestamp(as_of)
    if now.tzinfo is None:
        now = now.tz_localize("UTC")
    last_purchase = orders.groupby("customer_id")["placed_at"].max() if len(orders) else \
        pd.Series(dtype="datetime64[ns, UTC]")
    first_purchase = orders.groupby("customer_id")["placed_at"].min() if len(orders) else \
        pd.Series(dtype="datetime64[ns, UTC]")
    days = lambda s: (now - pd.to_datetime(s, utc=True)).dt.total_seconds() / 86400  # noqa: E731
    facts = pd.DataFrame(index=customers.index)
    first_seen = pd.concat([pd.to_datetime(customers["created_at"], utc=True),
                            pd.to_datetime(first_purchase.reindex(customers.index), utc=True)],
                           axis=1).min(axis=1)
    facts["days_since_first_seen"] = days(first_seen)
    facts["days_since_last_purchase"] = days(last_purchase.reindex(customers.index))
    facts["days_since_last_activity"] = days(pd.Series(activity).reindex(customers.index))
    facts["purchases_in_window"] = values["frequency"].reindex(customers.index).fillna(0)
    facts["spend_in_window"] = values["monetary"].reindex(customers.index).fillna(0)
    stages = lifecycle_stages(facts, lifecycle)

    predicted = None
    summary = (summary_from_transactions(orders, "customer_id", "placed_at", "total",
                                         observation_end=now.tz_convert(None))
               if len(orders) else None)
    if summary is not None and (summary["frequency"] > 0).sum() >= MIN_REPEAT_BUYERS:
        purchases, spend_each = forecast_models(summary)
        predicted = forecast_frame(summary, purchases, spend_each, FORECAST_DAYS)
        predicted["clv"] = forecast_frame(summary, purchases, spend_each, 365)[
            "expected_value"]

    risk, reasons, churn_quality = _churn_scores(orders, now)

    existing = {s.customer_id: (s.stage, s.tier) for s in CustomerScore.objects.all()}
    rows, events = [], []
    for customer_id in customers.index:
        tier = (tiers.loc[customer_id, "tier"] if customer_id in tiers.index else NO_PURCHASES)
        cell = tiers.loc[customer_id, "cell"] if customer_id in tiers.index else ""
        stage = stages.loc[customer_id]
        rfm_row = scores.loc[customer_id] if customer_id in scores.index else None
        value_row = values.loc[customer_id] if customer_id in values.index else None
        p_row = (predicted.loc[customer_id] if predicted is not None
                 and customer_id in predicted.index else None)
        rows.append(CustomerScore(
            customer_id=int(customer_id), scored_at=as_of,
            recency_days=None if value_row is None else float(value_row["recency_days"]),
            frequency=0 if value_row is None else int(value_row["frequency"]),
            monetary=Decimal("0") if value_row is None else Decimal(
                str(round(float(value_row["monetary"]), 2))),
            r=None if rfm_row is None else int(rfm_row["r"]),
            f=None if rfm_row is None else int(rfm_row["f"]),
            m=None if rfm_row is None else int(rfm_row["m"]),
            tier=tier, cell=cell, stage=stage,
            expected_purchases=None if p_row is None else float(p_row["expected_purchases"]),
            p_alive=None if p_row is None else float(p_row["p_alive"]),
            clv=None if p_row is None or np.isnan(p_row["clv"]) else Decimal(
                str(round(float(p_row["clv"]), 2))),
            churn_risk=risk.get(int(customer_id)),
            churn_reasons=reasons.get(int(customer_id), [])))
        before = existing.get(int(customer_id))
        for kind, old, new, label in (
                ("stage_changed", before[0] if before else None, stage, Stage),
                ("tier_changed", before[1] if before else None, tier, Tier)):
            if old != new:
                events.append(Event(
                    customer_id=int(customer_id), kind=kind, occurred_at=as_of,
                    summary=_("Became %(new)s") % {"new": label(new).label},
                    data={"from": old, "to": new}))
    with transaction.atomic():
        CustomerScore.objects.bulk_create(
            rows, batch_size=1000, update_conflicts=True, unique_fields=["customer"],
            update_fields=["scored_at", "recency_days", "frequency", "monetary", "r", "f",
                           "m", "tier", "cell", "stage", "expected_purchases", "p_alive",
                           "clv", "churn_risk", "churn_reasons"])
        Event.objects.bulk_create(events, batch_size=1000)
        summary = {"customers": len(rows), "changed": len(events),
                   "forecast": int(predicted is not None), **churn_quality}
        log_action(actor=actor, action="analytics.scores_refresh", object_type="analytics",
                   extra=summary)
    return summary


def _churn_scores(orders: pd.DataFrame, now: pd.Timestamp
                  ) -> tuple[dict[int, float], dict[int, list[list[Any]]], dict[str, Any]]:
    """Train the churn model on this business's own history and score current buyers;
    nothing (and no error) while there is too little history."""
    from guanxi.analytics.churn import churn_features, churn_train

    if orders.empty:
        return {}, {}, {}
    events = _frame(Event.objects.filter(occurred_at__lte=now).exclude(kind__in=SYSTEM_KINDS)
                    .values_list("customer_id", "kind", "occurred_at", "channel"),
                    ["customer_id", "kind", "occurred_at", "channel"])
    orders = orders.assign(placed_at=pd.to_datetime(orders["placed_at"], utc=True))
    events = events.assign(occurred_at=pd.to_datetime(events["occurred_at"], utc=True))
    try:
        model = churn_train(orders, events, as_of=now)
    except ValueError:
        return {}, {}, {"churn_model": 0}
    features = churn_features(orders, events, now)
    risk = dict(zip(features.index.astype(int), model.predict(features).round(4).tolist(),
                    strict=True))
    reasons = dict(zip(features.index.astype(int),
                       [[[name, round(w, 3)] for name, w in r] for r in model.reasons(features)],
                       strict=True))
    return risk, reasons, {"churn_model": 1, "churn_auc": round(model.auc, 3),
                           "churn_baseline_auc": round(model.baseline_auc, 3)}


EXPORT_COLUMNS = ("customer_id", "display_name", "stage", "tier", "rfm_cell", "r", "f", "m",
                  "recency_days", "frequency", "monetary", "expected_purchases_90d",
                  "p_alive", "clv_12m", "churn_risk_90d", "scored_at")


def scores_export(*, actor: Any, stage: str = "", tier: str = "") -> Iterator[list[str]]:
    """Header, then one row per visible scored customer, a page at a time; audited before
    the first row leaves, formula-like cells neutralised."""
    from guanxi.analytics.selectors import score_list

    require(actor, Action.CUSTOMER_EXPORT)
    log_action(actor=actor, action="analytics.scores_export", object_type="analytics",
               extra={"stage": stage, "tier": tier})
    yield list(EXPORT_COLUMNS)
    cursor: str | None = None
    while True:
        page = score_list(actor=actor, stage=stage, tier=tier, cursor=cursor, limit=500)
        for s in page.items:
            yield [safe_cell("" if v is None else v) for v in (
                s.customer_id, s.customer.display_name, s.stage, s.tier, s.cell, s.r, s.f,
                s.m, s.recency_days, s.frequency, s.monetary, s.expected_purchases,
                s.p_alive, s.clv, s.churn_risk, s.scored_at.isoformat())]
        if not page.next_cursor:
            return
        cursor = page.next_cursor


def segment_save(*, actor: Any, name: str, rules: dict[str, Any],
                 segment: Segment | None = None) -> Segment:
    """Create or change a segment (rules validated), then materialise its members."""
    require(actor, Action.CUSTOMER_EXPORT)
    compile_rules(rules)
    clean = " ".join(name.split())[:100]
    if not clean:
        raise InvalidInput.single("name", _("A segment needs a name"), name)
    with transaction.atomic():
        if segment is None:
            segment = Segment.objects.create(name=clean, rules=rules, created_by=actor)
            log_action(actor=actor, action="segment.create", obj=segment,
                       changes={"name": [None, clean]})
        else:
            segment.name, segment.rules = clean, rules
            segment.save(update_fields=["name", "rules"])
            log_action(actor=actor, action="segment.update", obj=segment,
                       changes={"rules": [None, rules]})
        segment_refresh(segment=segment)
    return segment


def segment_refresh(*, segment: Segment) -> SegmentSize:
    """System job: recompute the members (all customers, not one user's view), close the
    memberships of those who left, open them for those who joined, record the size."""
    now = timezone.now()
    with transaction.atomic():
        wanted = set(Customer.objects.filter(compile_rules(segment.rules))
                     .values_list("pk", flat=True))
        current = set(SegmentMembership.objects.filter(segment=segment, left_at__isnull=True)
                      .values_list("customer_id", flat=True))
        joined, left = wanted - current, current - wanted
        SegmentMembership.objects.filter(segment=segment, left_at__isnull=True,
                                         customer_id__in=left).update(left_at=now)
        SegmentMembership.objects.bulk_create(
            [SegmentMembership(segment=segment, customer_id=pk, joined_at=now)
             for pk in joined], batch_size=1000)
        segment.member_count, segment.refreshed_at = len(wanted), now
        segment.save(update_fields=["member_count", "refreshed_at"])
        return SegmentSize.objects.create(segment=segment, at=now, members=len(wanted),
                                          joined=len(joined), left=len(left))


def segments_refresh_all() -> int:
    for segment in Segment.objects.all():
        segment_refresh(segment=segment)
    return Segment.objects.count()
