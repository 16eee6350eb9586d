"""Scoring at scale: per-customer facts from raw order and event rows, computed with
numpy one customer-id range at a time, then RFM, tier, stage, lifetime value and churn
risk applied with models fitted once per full run.

    data = read_range(lo, hi, as_of)              # one range of customers, from the database
    facts = range_facts(data, now, windows)       # one row per customer, numpy only
    fitted = fit_models(extract, train, test, now, configs)  # thresholds and models
    scores = apply_models(facts, fitted, now)     # per customer: the CustomerScore columns

A full run (RangeWorkers) has worker processes read the ranges and keep their facts; the
parent fits on what they send back (a few columns of every customer, random samples of
the churn rows), then the workers apply the models to their ranges and write the scores.
An incremental run (customers with new orders) reads only those customers and applies the
last full run's fitted models, so a customer's scores mean the same either way.

Times are epoch seconds (UTC) and days are UTC days throughout; purchase "days" follow
the lifetimes package (several orders on one day are one purchase).
"""

from __future__ import annotations

from guanxi.analytics.scoring.extract import (
    ACTIVITY,
    CHURN_SAMPLE,
    CLV_DAYS,
    COMPLAINT,
    DAY,
    FIT_SAMPLE,
    HORIZON_DAYS,
    INTERACTION,
    MIN_REPEAT_BUYERS,
    REASONS_MAX,
    SHIFT,
    TIER_CHANGE,
    RangeData,
    _epoch,
    _fetch,
    _in_list,
    read_range,
)
from guanxi.analytics.scoring.facts import (
    _cutoff_features,
    _Rows,
    _rows,
    cutoff_features,
    range_facts,
)
from guanxi.analytics.scoring.fitting import (
    FIT_COLUMNS,
    Fitted,
    _cutoff_frame,
    _fit_purchases,
    _rfm_values,
    _score,
    _thresholds,
    alive_baseline,
    apply_models,
    churn_reasons,
    fit_models,
    reasons_for,
)
from guanxi.analytics.scoring.workers import (
    CUTOFFS,
    RangeFacts,
    RangeHolder,
    RangeRead,
    RangeScored,
    RangeWorkers,
    _serve,
    facts_for_range,
    sample_counts,
)

__all__ = [
    "ACTIVITY",
    "CHURN_SAMPLE",
    "CLV_DAYS",
    "COMPLAINT",
    "CUTOFFS",
    "DAY",
    "FIT_COLUMNS",
    "FIT_SAMPLE",
    "HORIZON_DAYS",
    "INTERACTION",
    "MIN_REPEAT_BUYERS",
    "REASONS_MAX",
    "SHIFT",
    "TIER_CHANGE",
    "Fitted",
    "RangeData",
    "RangeFacts",
    "RangeHolder",
    "RangeRead",
    "RangeScored",
    "RangeWorkers",
    "_Rows",
    "_cutoff_features",
    "_cutoff_frame",
    "_epoch",
    "_fetch",
    "_fit_purchases",
    "_in_list",
    "_rfm_values",
    "_rows",
    "_score",
    "_serve",
    "_thresholds",
    "alive_baseline",
    "apply_models",
    "churn_reasons",
    "cutoff_features",
    "facts_for_range",
    "fit_models",
    "range_facts",
    "read_range",
    "reasons_for",
    "sample_counts",
]
