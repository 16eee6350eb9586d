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

from guanxi.analytics.clv import BetaGeo, summary_from_transactions

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
COMPLAINT_KINDS = ("complaint",)
INTERACTION_KINDS = ("call", "visit", "note", "email_opened", "email_clicked",
                     "wechat_message", "page_viewed", "app_opened", "store_visit",
                     "cart_abandoned", "feedback", "complaint")


def _days(delta: pd.Series) -> pd.Series:
    return delta.dt.total_seconds() / 86400


def churn_features(orders: pd.DataFrame, events: pd.DataFrame, cutoff: pd.Timestamp
                   ) -> pd.DataFrame:
    """One row per customer with a purchase before `cutoff`, using only what was known
    at the cutoff."""
    cutoff = pd.Timestamp(cutoff)
    past = orders[orders["placed_at"] <= cutoff]
    if past.empty:
        return pd.DataFrame(columns=list(FEATURES))
    day = past["placed_at"].dt.floor("D")
    past = past.assign(_day=day, _age=_days(cutoff - past["placed_at"]))
    g = past.groupby("customer_id")
    out = pd.DataFrame({
        "recency_days": g["_age"].min(),
        "tenure_days": g["_age"].max(),
        "purchase_days_365": past[past["_age"] <= 365].groupby("customer_id")["_day"]
        .nunique(),
        "purchase_days_90": past[past["_age"] <= 90].groupby("customer_id")["_day"].nunique(),
        "purchase_days_prev_90": past[(past["_age"] > 90) & (past["_age"] <= 180)]
        .groupby("customer_id")["_day"].nunique(),
        "spend_365": past[past["_age"] <= 365].groupby("customer_id")["total"].sum(),
        "avg_order_value": g["total"].mean(),
    })
    out = out.fillna({"purchase_days_365": 0, "purchase_days_90": 0,
                      "purchase_days_prev_90": 0, "spend_365": 0})
    out["trend_90"] = out["purchase_days_90"] - out["purchase_days_prev_90"]
    ev = events[events["occurred_at"] <= cutoff]
    ev = ev.assign(_age=_days(cutoff - ev["occurred_at"]))
    by = ev.groupby("customer_id")
    out["days_since_activity"] = by["_age"].min().reindex(out.index).fillna(
        out["recency_days"])
    out["days_since_activity"] = np.minimum(out["days_since_activity"], out["recency_days"])
    out["interactions_90"] = (ev[(ev["_age"] <= 90) & ev["kind"].isin(INTERACTION_KINDS)]
                              .groupby("customer_id").size().reindex(out.index).fillna(0))
    out["complaints_180"] = (ev[(ev["_age"] <= 180) & ev["kind"].isin(COMPLAINT_KINDS)]
                             .groupby("customer_id").size().reindex(out.index).fillna(0))
    out["channels_365"] = (ev[ev["_age"] <= 365].groupby("customer_id")["channel"].nunique()
                           .reindex(out.index).fillna(0)
                           if "channel" in ev else 0.0)
    out["tier_changes_365"] = (ev[(ev["_age"] <= 365) & (ev["kind"] == "tier_changed")]
                               .groupby("customer_id").size().reindex(out.index).fillna(0))
    return out[list(FEATURES)].astype(float)


def churn_labels(orders: pd.DataFrame, customers: pd.Index, cutoff: pd.Timestamp,
                 horizon_days: int) -> pd.Series:
    """1 if the customer bought nothing in (cutoff, cutoff + horizon]."""
    cutoff = pd.Timestamp(cutoff)
    window = orders[(orders["placed_at"] > cutoff)
                    & (orders["placed_at"] <= cutoff + pd.Timedelta(days=horizon_days))]
    bought = set(window["customer_id"])
    return pd.Series([0 if c in bought else 1 for c in customers], index=customers,
                     name="churned")


def _alive_baseline(orders: pd.DataFrame, cutoff: pd.Timestamp, index: pd.Index
                    ) -> pd.Series:
    summary = summary_from_transactions(orders, "customer_id", "placed_at",
                                        observation_end=cutoff.tz_localize(None)
                                        if cutoff.tzinfo else cutoff)
    bg = BetaGeo().fit(summary["frequency"], summary["recency"], summary["T"])
    alive = pd.Series(bg.p_alive(summary["frequency"], summary["recency"], summary["T"]),
                      index=summary.index)
    return 1 - alive.reindex(index).fillna(0.5)


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


def churn_train(orders: pd.DataFrame, events: pd.DataFrame, *, as_of: pd.Timestamp,
                horizon_days: int = 90, seed: int = 7) -> ChurnModel:
    """Train on the cutoff 2×horizon before `as_of` (labels from the next horizon), test
    on the cutoff one horizon before `as_of` (labels up to `as_of`): a later period the
    model has not seen. Probabilities are calibrated (isotonic) on a part of the training
    period held back from the boosting."""
    import lightgbm as lgb
    from sklearn.isotonic import IsotonicRegression
    from sklearn.metrics import brier_score_loss, roc_auc_score

    as_of = pd.Timestamp(as_of)
    train_cut = as_of - pd.Timedelta(days=2 * horizon_days)
    test_cut = as_of - pd.Timedelta(days=horizon_days)
    x_train = churn_features(orders, events, train_cut)
    y_train = churn_labels(orders, x_train.index, train_cut, horizon_days)
    x_test = churn_features(orders, events, test_cut)
    y_test = churn_labels(orders, x_test.index, test_cut, horizon_days)
    if len(x_train) < 100 or y_train.nunique() < 2 or y_test.nunique() < 2:
        raise ValueError("too little history to train a churn model: need at least 100 "
                         "buying customers and both outcomes in two periods")
    rng = np.random.default_rng(seed)
    held = rng.random(len(x_train)) < 0.25
    model = lgb.LGBMClassifier(n_estimators=300, learning_rate=0.05, num_leaves=31,
                               min_child_samples=20, subsample=0.8, subsample_freq=1,
                               colsample_bytree=0.9, random_state=seed, verbose=-1)
    model.fit(x_train[~held], y_train[~held])
    calibrator = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1)
    calibrator.fit(np.asarray(model.predict_proba(x_train[held]))[:, 1], y_train[held])
    fitted = ChurnModel(model=model, calibrator=calibrator, horizon_days=horizon_days,
                        auc=0.0, baseline_auc=0.0, brier=0.0, trained_on=int((~held).sum()),
                        tested_on=len(x_test))
    predicted = fitted.predict(x_test)
    baseline = _alive_baseline(orders, test_cut, x_test.index)
    fitted.auc = float(roc_auc_score(y_test, predicted))
    fitted.baseline_auc = float(roc_auc_score(y_test, baseline))
    fitted.brier = float(brier_score_loss(y_test, predicted))
    return fitted
