"""Fitting the models once per full run (RFM thresholds, purchase and spend models, the
churn model) and applying them to a range's facts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from guanxi.analytics.churn_model import FEATURES
from guanxi.analytics.lifecycle import LifecycleConfig, lifecycle_stages
from guanxi.analytics.rfm import NO_PURCHASES, RFMConfig, rfm_scores, value_tiers
from guanxi.analytics.scoring.extract import (
    CLV_DAYS,
    DAY,
    FIT_SAMPLE,
    HORIZON_DAYS,
    MIN_REPEAT_BUYERS,
    REASONS_MAX,
    read_range,
)
from guanxi.analytics.scoring.facts import cutoff_features


@dataclass
class Fitted:
    """What a full run learned, applied to every customer (and later incrementally)."""

    rfm: RFMConfig
    lifecycle: LifecycleConfig
    thresholds: dict[str, list[float]]      # score k+2 from the k-th value (quantile RFM)
    high_value_spend: float                 # lifecycle: spend at the top share
    purchases: Any = None                   # ParetoNBD (or None: too little history)
    spend: Any = None                       # GammaGamma, or a float mean
    churn: Any = None                       # ChurnModel or None
    figures: dict[str, Any] = field(default_factory=dict)


def _rfm_values(facts: pd.DataFrame, now: float) -> pd.DataFrame:
    buyers = facts[facts["rfm_days"] > 0]
    return pd.DataFrame({"recency_days": (now - buyers["rfm_last_at"]) / DAY,
                         "frequency": buyers["rfm_days"], "monetary": buyers["rfm_spend"]})


def _thresholds(values: pd.DataFrame, scores: pd.DataFrame) -> dict[str, list[float]]:
    """For each dimension, the value from which a score of 2, 3, 4, 5 is given (recency
    negated, so higher is always better): reproduces quantile scores exactly on the data
    they came from, and scores new customers consistently with them."""
    out = {}
    for dim, column, sign in (("r", "recency_days", -1.0), ("f", "frequency", 1.0),
                              ("m", "monetary", 1.0)):
        v = sign * values[column].to_numpy(dtype=float)
        s = scores[dim].to_numpy(dtype=int)
        out[dim] = [float(v[s >= k].min()) if (s >= k).any() else float("inf")
                    for k in (2, 3, 4, 5)]
    return out


def _score(values: np.ndarray, thresholds: list[float]) -> np.ndarray:
    return 1 + (values[:, None] >= np.asarray(thresholds)[None, :]).sum(axis=1)


FIT_COLUMNS = ("rfm_last_at", "rfm_days", "rfm_spend", "lc_spend", "first_at", "frequency",
               "recency", "T", "monetary_value")  # of every customer, for fit_models


def fit_models(extract: pd.DataFrame, train: pd.DataFrame, test: pd.DataFrame, now: float,
               rfm: RFMConfig, lifecycle: LifecycleConfig, *, seed: int = 7,
               previous: Fitted | None = None) -> Fitted:
    """Thresholds and models. `extract`: the FIT_COLUMNS of every customer; `train` and
    `test`: the churn features of (a sample of) the buyers at the two past cutoffs. The
    purchase model is fitted on a random sample (four parameters need far fewer than a
    million customers), starting from the previous run's parameters when there are some."""
    from guanxi.analytics.churn_model import churn_fit

    values = _rfm_values(extract, now)
    thresholds: dict[str, list[float]] = {}
    if len(values) and rfm.method == "quantile":
        thresholds = _thresholds(values, rfm_scores(values, rfm))
    spend = extract["lc_spend"].to_numpy()
    buyers = spend[spend > 0]
    high = (float(np.quantile(buyers, 1 - lifecycle.high_value_share))
            if len(buyers) and lifecycle.high_value_share > 0 else float("inf"))
    fitted = Fitted(rfm=rfm, lifecycle=lifecycle, thresholds=thresholds, high_value_spend=high)
    summary = extract.loc[extract["first_at"].notna(),
                          ["frequency", "recency", "T", "monetary_value"]]
    _fit_purchases(fitted, summary, seed, previous)
    try:
        baseline = alive_baseline(test)
        fitted.churn = churn_fit(train[list(FEATURES)], train["churned"],
                                 test[list(FEATURES)], test["churned"], baseline, seed=seed)
    except ValueError:
        fitted.figures["churn_model"] = 0
    else:
        fitted.figures.update(churn_model=1, churn_auc=round(fitted.churn.auc, 3),
                              churn_baseline_auc=round(fitted.churn.baseline_auc, 3),
                              churn_brier=round(fitted.churn.brier, 3))
    return fitted


def _fit_purchases(fitted: Fitted, summary: pd.DataFrame, seed: int,
                   previous: Fitted | None) -> None:
    """Pareto/NBD on a random sample of the buyers (from the previous run's parameters when
    there are some) and Gamma-Gamma on repeat buyers, into `fitted`."""
    from guanxi.analytics.clv import GammaGamma, ParetoNBD

    if (summary["frequency"] > 0).sum() < MIN_REPEAT_BUYERS:
        return
    rng = np.random.default_rng(seed)
    sample = summary.iloc[rng.permutation(len(summary))[:FIT_SAMPLE]]
    start = (previous.purchases.params_ if previous is not None
             and isinstance(previous.purchases, ParetoNBD) else None)
    fitted.purchases = ParetoNBD().fit(sample["frequency"], sample["recency"], sample["T"],
                                       start=start)
    repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    if len(repeat) >= 20:
        repeat = repeat.iloc[rng.permutation(len(repeat))[:FIT_SAMPLE]]
        fitted.spend = GammaGamma().fit(repeat["frequency"], repeat["monetary_value"])
    else:
        fitted.spend = float(repeat["monetary_value"].mean()) if len(repeat) else 0.0
    fitted.figures["fit_customers"] = len(sample)


def _cutoff_frame(facts: pd.DataFrame, prefix: str) -> pd.DataFrame:
    columns = [c for c in facts.columns if c.startswith(prefix + ".")]
    frame = facts[columns].rename(columns=lambda c: c.split(".", 1)[1])
    return frame[frame["recency_days"].notna()]


def alive_baseline(frame: pd.DataFrame) -> np.ndarray:
    """1 − P(alive) from BG/NBD fitted at the same cutoff: the churn model's baseline."""
    from guanxi.analytics.clv import BetaGeo

    if frame.empty:
        raise ValueError("no buyers at the test cutoff")
    bg = BetaGeo().fit(frame["x"], frame["t_x"], frame["T"])
    return 1 - bg.p_alive(frame["x"], frame["t_x"], frame["T"])


def apply_models(facts: pd.DataFrame, fitted: Fitted, now: float) -> pd.DataFrame:
    """The CustomerScore columns of every customer in `facts`."""
    n = len(facts)
    out = pd.DataFrame(index=facts.index)
    values = _rfm_values(facts, now)
    if fitted.rfm.method == "quantile":
        scores = pd.DataFrame({
            dim: _score(sign * values[col].to_numpy(dtype=float), fitted.thresholds[dim])
            if fitted.thresholds else np.full(len(values), 1)
            for dim, col, sign in (("r", "recency_days", -1.0), ("f", "frequency", 1.0),
                                   ("m", "monetary", 1.0))}, index=values.index)
    else:
        scores = rfm_scores(values, fitted.rfm)
    tiers = value_tiers(scores, fitted.rfm) if len(scores) else pd.DataFrame(
        columns=["tier", "cell"])
    out["recency_days"] = values["recency_days"]
    out["frequency"] = values["frequency"].reindex(out.index).fillna(0).astype(int)
    out["monetary"] = values["monetary"].reindex(out.index).fillna(0.0).round(2)
    for dim in ("r", "f", "m"):
        out[dim] = scores[dim].reindex(out.index) if len(scores) else np.nan
    out["tier"] = tiers["tier"].reindex(out.index).fillna(NO_PURCHASES)
    out["cell"] = tiers["cell"].reindex(out.index).fillna("")

    first_seen = np.fmin(facts["created"].to_numpy(), facts["first_at"].to_numpy())
    last_buy = (now - facts["last_at"].to_numpy()) / DAY
    lc = pd.DataFrame({
        "days_since_first_seen": (now - first_seen) / DAY,
        "days_since_last_purchase": last_buy,
        "days_since_last_activity": (now - facts["last_activity"].to_numpy()) / DAY,
        "purchases_in_window": facts["lc_days"].to_numpy(),
        "spend_in_window": facts["lc_spend"].to_numpy()}, index=facts.index)
    out["stage"] = lifecycle_stages(lc, fitted.lifecycle, high_value_spend=fitted.high_value_spend)

    out["expected_purchases"] = np.nan
    out["p_alive"] = np.nan
    out["clv"] = np.nan
    bought = facts["first_at"].notna().to_numpy()
    if fitted.purchases is not None and bought.any():
        x = facts["frequency"].to_numpy()[bought]
        tx = facts["recency"].to_numpy()[bought]
        t = facts["T"].to_numpy()[bought]
        each = (fitted.spend.expected_spend(x, facts["monetary_value"].to_numpy()[bought])
                if hasattr(fitted.spend, "expected_spend")
                else np.full(len(x), float(fitted.spend or 0.0)))
        alive, (soon, year) = fitted.purchases.predict_many([HORIZON_DAYS, CLV_DAYS], x, tx, t)
        out.loc[bought, "expected_purchases"] = soon
        out.loc[bought, "p_alive"] = alive
        out.loc[bought, "clv"] = np.round(year * each, 2)

    out["churn_risk"] = np.nan
    out["churn_reasons"] = np.full(n, None, dtype=object)  # None: no reasons
    current = _cutoff_frame(facts, "now")
    if fitted.churn is not None and len(current):
        features = current[list(FEATURES)]
        out.loc[current.index, "churn_risk"] = np.round(fitted.churn.predict(features), 4)
        if len(current) <= REASONS_MAX:
            out.loc[current.index, "churn_reasons"] = pd.Series(
                churn_reasons(fitted, features), index=current.index, dtype=object)
    # Known for less than one churn horizon: too new to tell (the model learnt from
    # customers with a whole horizon behind them), so no risk rather than a guess.
    young = ((now - first_seen) / DAY) < HORIZON_DAYS
    if young.any():
        out.loc[young, "churn_risk"] = np.nan
        out.loc[young, "churn_reasons"] = None
    return out


def churn_reasons(fitted: Fitted, features: pd.DataFrame) -> list[list[list[Any]]]:
    """Per customer, the top reasons for the churn risk: [[feature, log-odds], ...]."""
    return [[[name, round(w, 3)] for name, w in r] for r in fitted.churn.reasons(features)]


def reasons_for(customer_id: int, fitted: Fitted, as_of: dt.datetime) -> list[list[Any]]:
    """One customer's churn reasons as of their scoring (for customers of a large base,
    whose reasons the batch leaves to be computed when someone looks)."""
    if fitted.churn is None:
        return []
    data = read_range(0, 0, as_of, ids=[customer_id])
    current = cutoff_features(data, as_of.timestamp(), label=False)
    current = current[current["recency_days"].notna()]
    if current.empty:
        return []
    return churn_reasons(fitted, current[list(FEATURES)])[0]
