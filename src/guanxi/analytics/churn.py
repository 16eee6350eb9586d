"""Churn risk: a gradient-boosting model on RFM, trend and behaviour features, trained
with a time-based split, with calibrated probabilities, evaluated on a later period
against the 1 − P(alive) baseline, and the top reasons per customer.

Pure functions over pandas frames (orders: customer_id, placed_at, total; events:
customer_id, kind, occurred_at); the scoring job feeds them from the database.

Churn means: a customer who had bought before the cutoff buys nothing in the
`horizon_days` after it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from django.utils.translation import gettext_lazy as _

FEATURES = ("recency_days", "tenure_days", "purchase_days_365", "purchase_days_90",
            "purchase_days_prev_90", "trend_90", "spend_365", "avg_order_value",
            "days_since_activity", "interactions_90", "complaints_180", "channels_365",
            "tier_changes_365")
FEATURE_LABELS = {
    "recency_days": _("long since the last purchase"),
    "tenure_days": _("customer for a long time"),
    "purchase_days_365": _("few purchases this year"),
    "purchase_days_90": _("few purchases in the last 90 days"),
    "purchase_days_prev_90": _("few purchases in the 90 days before"),
    "trend_90": _("buying less than before"),
    "spend_365": _("low spend this year"),
    "avg_order_value": _("small orders"),
    "days_since_activity": _("no contact for a while"),
    "interactions_90": _("little contact lately"),
    "complaints_180": _("recent complaints"),
    "channels_365": _("few channels used"),
    "tier_changes_365": _("value tier changed"),
}


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


@dataclass
class ChurnModel:
    """A fitted churn model and how well it did on the held-out period."""

    model: Any
    calibrator: Any
    horizon_days: int
    auc: float
    baseline_auc: float
    brier: float
    trained_on: int
    tested_on: int
    feature_names: list[str] = field(default_factory=lambda: list(FEATURES))

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        raw = self.model.predict_proba(features[self.feature_names])[:, 1]
        return np.asarray(self.calibrator.predict(raw))

    def reasons(self, features: pd.DataFrame, top: int = 3) -> list[list[tuple[str, float]]]:
        """Per customer, the features that raise the risk most (SHAP contributions from
        LightGBM, in log-odds)."""
        contrib = self.model.booster_.predict(features[self.feature_names],
                                              pred_contrib=True)[:, :-1]
        out = []
        for row in contrib:
            order = np.argsort(row)[::-1][:top]
            out.append([(self.feature_names[i], float(row[i])) for i in order if row[i] > 0])
        return out


def churn_fit(x_train: pd.DataFrame, y_train: pd.Series, x_test: pd.DataFrame,
              y_test: pd.Series, baseline: np.ndarray, *, horizon_days: int = 90,
              seed: int = 7) -> ChurnModel:
    """Boost on the training period, calibrate (isotonic) on a part of it held back from
    the boosting, and report AUC on the later test period against `baseline`
    (1 − P(alive) at the test cutoff)."""
    import lightgbm as lgb
    from sklearn.isotonic import IsotonicRegression
    from sklearn.metrics import brier_score_loss, roc_auc_score

    if len(x_train) < 100 or y_train.nunique() < 2 or y_test.nunique() < 2:
        raise ValueError("too little history to train a churn model: need at least 100 "
                         "buying customers and both outcomes in two periods")
    rng = np.random.default_rng(seed)
    held = rng.random(len(x_train)) < 0.25
    model = lgb.LGBMClassifier(n_estimators=150, learning_rate=0.08, num_leaves=31,
                               min_child_samples=20, subsample=0.8, subsample_freq=1,
                               colsample_bytree=0.9, random_state=seed, verbose=-1)
    model.fit(x_train[~held], y_train[~held])
    calibrator = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1)
    calibrator.fit(np.asarray(model.predict_proba(x_train[held]))[:, 1], y_train[held])
    fitted = ChurnModel(model=model, calibrator=calibrator, horizon_days=horizon_days,
                        auc=0.0, baseline_auc=0.0, brier=0.0, trained_on=int((~held).sum()),
                        tested_on=len(x_test))
    predicted = fitted.predict(x_test)
    fitted.auc = float(roc_auc_score(y_test, predicted))
    fitted.baseline_auc = float(roc_auc_score(y_test, baseline))
    fitted.brier = float(brier_score_loss(y_test, predicted))
    return fitted


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
