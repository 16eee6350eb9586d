"""The churn model itself: its features (with the words that explain them) and the
gradient-boosting fit with calibration. The scoring job (guanxi.analytics.scoring) and
the frame-level functions of guanxi.analytics.churn both build on it."""

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


# LightGBM's threads for predicting; 0 is its default (one per core). A forked worker
# process sets 1: libgomp's thread pool does not survive fork, and a forked child whose
# parent had already used it hangs in its first parallel region (the LightGBM FAQ).
_PREDICT_THREADS = 0


def predict_single_threaded() -> None:
    """LightGBM on one thread in this process (call first thing in a forked worker):
    loading a pickled model parses it in parallel too, so the library's own limit
    (LGBM_SetMaxThreads, a C API function the Python package does not wrap) is set as
    well as the threads of each prediction."""
    import ctypes

    from lightgbm.basic import _LIB

    global _PREDICT_THREADS
    _PREDICT_THREADS = 1
    _LIB.LGBM_SetMaxThreads(ctypes.c_int(1))


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
        raw = self.model.predict_proba(features[self.feature_names],
                                       num_threads=_PREDICT_THREADS)[:, 1]
        return np.asarray(self.calibrator.predict(raw))

    def reasons(self, features: pd.DataFrame, top: int = 3) -> list[list[tuple[str, float]]]:
        """Per customer, the features that raise the risk most (SHAP contributions from
        LightGBM, in log-odds)."""
        contrib = self.model.booster_.predict(features[self.feature_names],
                                              pred_contrib=True,
                                              num_threads=_PREDICT_THREADS)[:, :-1]
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
