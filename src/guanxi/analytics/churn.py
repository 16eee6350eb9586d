"""Churn risk: a gradient-boosting model on RFM, trend and behaviour features, trained
with a time-based split, with calibrated probabilities, evaluated on a later period
against the 1 − P(alive) baseline, and the top reasons per customer.

Pure functions over pandas frames (orders: customer_id, placed_at, total; events:
customer_id, kind, occurred_at); the scoring job feeds them from the database.

Churn means: a customer who had bought before the cutoff buys nothing in the
`horizon_days` after it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from guanxi.analytics.churn_model import (  # noqa: F401 (stored models unpickle here)
    FEATURE_LABELS,
    FEATURES,
    ChurnModel,
    churn_fit,
)


def interaction_kinds() -> tuple[str, ...]:
    """Touches between customer and business (the timeline's `interaction` flag)."""
    from guanxi.timeline.kinds import INTERACTION, kinds_with

    return kinds_with(INTERACTION)


def complaint_kinds() -> tuple[str, ...]:
    from guanxi.timeline.kinds import COMPLAINT, kinds_with

    return kinds_with(COMPLAINT)


def _range(orders: pd.DataFrame, events: pd.DataFrame) -> Any:
    """Order and event frames as the scoring job's arrays (one range of all customers)."""
    from guanxi.analytics.scoring import ACTIVITY, COMPLAINT, INTERACTION, TIER_CHANGE, RangeData

    def seconds(values: pd.Series) -> np.ndarray:
        stamps = pd.to_datetime(values, utc=True)
        return (stamps - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy(dtype=float)

    ids = np.unique(np.concatenate([orders["customer_id"].to_numpy(dtype=np.int64),
                                    events["customer_id"].to_numpy(dtype=np.int64)]))
    kind = events["kind"].astype(str)
    from guanxi.timeline.kinds import VALUE_TIER, kinds_with

    code = np.where(kind.isin(kinds_with(VALUE_TIER)).to_numpy(), TIER_CHANGE,
                    ACTIVITY + INTERACTION * kind.isin(interaction_kinds()).to_numpy()
                    + COMPLAINT * kind.isin(complaint_kinds()).to_numpy())
    channel = (pd.factorize(events["channel"].fillna(""))[0] if "channel" in events
               else np.zeros(len(events), dtype=np.int64))
    return RangeData(ids=ids, created=np.zeros(len(ids)),
                     order_customer=orders["customer_id"].to_numpy(dtype=np.int64),
                     order_time=seconds(orders["placed_at"]),
                     order_total=orders["total"].to_numpy(dtype=float),
                     event_customer=events["customer_id"].to_numpy(dtype=np.int64),
                     event_time=seconds(events["occurred_at"]),
                     event_code=np.asarray(code, dtype=np.int64),
                     event_channel=np.asarray(channel, dtype=np.int64))


def _at(orders: pd.DataFrame, events: pd.DataFrame, cutoff: pd.Timestamp, *, label: bool
        ) -> pd.DataFrame:
    from guanxi.analytics.scoring import cutoff_features

    data = _range(orders, events)
    cut = pd.Timestamp(cutoff)
    cut = cut.tz_localize("UTC") if cut.tzinfo is None else cut
    frame = cutoff_features(data, cut.timestamp(), label=label)
    return frame[frame["recency_days"].notna()]


def churn_features(orders: pd.DataFrame, events: pd.DataFrame, cutoff: pd.Timestamp
                   ) -> pd.DataFrame:
    """One row per customer with a purchase before `cutoff`, using only what was known
    at the cutoff (the scoring job computes the same with the same code)."""
    return _at(orders, events, cutoff, label=False)[list(FEATURES)]


def churn_labels(orders: pd.DataFrame, customers: pd.Index, cutoff: pd.Timestamp,
                 horizon_days: int) -> pd.Series:
    """1 if the customer bought nothing in (cutoff, cutoff + horizon]."""
    cutoff = pd.Timestamp(cutoff)
    window = orders[(orders["placed_at"] > cutoff)
                    & (orders["placed_at"] <= cutoff + pd.Timedelta(days=horizon_days))]
    bought = set(window["customer_id"])
    return pd.Series([0 if c in bought else 1 for c in customers], index=customers,
                     name="churned")


def churn_train(orders: pd.DataFrame, events: pd.DataFrame, *, as_of: pd.Timestamp,
                horizon_days: int = 90, seed: int = 7) -> ChurnModel:
    """Train on the cutoff 2×horizon before `as_of` (labels from the next horizon), test
    on the cutoff one horizon before `as_of` (labels up to `as_of`): a later period the
    model has not seen."""
    from guanxi.analytics.scoring import alive_baseline

    as_of = pd.Timestamp(as_of)
    train = _at(orders, events, as_of - pd.Timedelta(days=2 * horizon_days), label=True)
    test = _at(orders, events, as_of - pd.Timedelta(days=horizon_days), label=True)
    if len(test) == 0:
        raise ValueError("no buyers before the test period")
    return churn_fit(train[list(FEATURES)], train["churned"], test[list(FEATURES)],
                     test["churned"], alive_baseline(test), horizon_days=horizon_days,
                     seed=seed)
