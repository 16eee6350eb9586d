"""Scoring at scale: per-customer facts from raw order and event rows, computed with
numpy one customer-id range at a time, then RFM, tier, stage, lifetime value and churn
risk applied with models fitted once per full run.

    data = read_range(lo, hi, as_of)              # one range of customers, from the database
    facts = range_facts(data, now, windows)       # one row per customer, numpy only
    fitted = fit_models(all_facts, now, configs)  # thresholds, purchase/spend/churn models
    scores = apply_models(facts, fitted, now)     # per customer: the CustomerScore columns

A full run fits on every range's facts and applies to all of them; an incremental run
(customers with new orders) reads only those customers and applies the last full run's
fitted models, so a customer's scores mean the same either way.

Times are epoch seconds (UTC) and days are UTC days throughout; purchase "days" follow
the lifetimes package (several orders on one day are one purchase).
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from django.db import connection

from guanxi.analytics.churn import COMPLAINT_KINDS, FEATURES, INTERACTION_KINDS
from guanxi.analytics.lifecycle import LifecycleConfig, lifecycle_stages
from guanxi.analytics.rfm import NO_PURCHASES, RFMConfig, rfm_scores, value_tiers

DAY = 86400.0
HORIZON_DAYS = 90          # churn horizon and the expected-purchases horizon
CLV_DAYS = 365
FIT_SAMPLE = 50_000        # customers the purchase model is fitted on (a random sample)
REASONS_MAX = 50_000       # churn reasons in the batch up to this many buyers per range;
                           # above, the 360 page computes one customer's on demand
CHURN_SAMPLE = 200_000     # customers the churn model is trained on
MIN_REPEAT_BUYERS = 50     # fewer, and the purchase models have nothing to learn from

# Event codes (bits) computed in SQL, so no kind strings cross into Python.
ACTIVITY, INTERACTION, COMPLAINT, TIER_CHANGE = 1, 2, 4, 8
# What Guanxi records about a customer rather than what the customer did.
SYSTEM_KINDS = ("customer_created", "profile_updated", "identity_added", "identity_removed",
                "consent_changed", "tag_added", "tag_removed", "customer_merged",
                "customer_unmerged", "tags_automatic", "stage_changed", "tier_changed")


@dataclass
class RangeData:
    """Raw rows of one customer-id range, as numpy arrays."""

    ids: np.ndarray                 # customer ids, sorted
    created: np.ndarray             # customer created_at (epoch s)
    order_customer: np.ndarray
    order_time: np.ndarray
    order_total: np.ndarray
    event_customer: np.ndarray
    event_time: np.ndarray
    event_code: np.ndarray
    event_channel: np.ndarray       # small integer per distinct channel text
    previous: dict[int, tuple[str, str]] = field(default_factory=dict)  # id -> (stage, tier)
    last_order_id: int = 0


SHIFT = 2 ** 32  # customer id and epoch second travel packed in one integer


def _epoch(column: str) -> str:
    """Whole epoch seconds of a timestamp column, as an integer."""
    if connection.vendor == "postgresql":
        return f"EXTRACT(EPOCH FROM {column})::bigint"
    import sqlite3

    if sqlite3.sqlite_version_info >= (3, 38):
        return f"unixepoch({column})"
    return f"CAST((julianday({column}) - 2440587.5) * 86400 AS INTEGER)"


def _bigint(column: str) -> str:
    return f"{column}::bigint" if connection.vendor == "postgresql" else column


def _number(column: str) -> str:
    return f"{column}::float8" if connection.vendor == "postgresql" else column


def _in_list(values: tuple[str, ...]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def _fetch(sql: str, params: list[Any], dtype: list[tuple[str, str]]) -> dict[str, np.ndarray]:
    """Rows as numpy columns. PostgreSQL sends them by COPY as CSV, parsed by pandas in C;
    on SQLite numpy converts the row tuples in C (far faster than splitting them into
    columns in Python)."""
    if connection.vendor == "postgresql":
        buffer = io.BytesIO()
        with connection.cursor() as cursor, cursor.cursor.copy(
                f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params) as copy:
            for block in copy:
                buffer.write(block)
        buffer.seek(0)
        if not buffer.getbuffer().nbytes:
            return {name: np.empty(0, dtype=kind) for name, kind in dtype}
        frame = pd.read_csv(buffer, header=None, names=[n for n, _k in dtype],
                            dtype={n: (str if k == "O" else k) for n, k in dtype},
                            keep_default_na=False)
        return {name: frame[name].to_numpy() for name, _kind in dtype}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    array = np.array(rows, dtype=dtype) if rows else np.empty(0, dtype=dtype)
    return {name: array[name] for name, _kind in dtype}


def read_range(lo: int, hi: int, as_of: dt.datetime, ids: list[int] | None = None
               ) -> RangeData:
    """Customers with lo <= id < hi (or exactly `ids`), their paid orders and their
    events up to `as_of`, and their current stage and tier."""
    when = connection.ops.adapt_datetimefield_value(pd.Timestamp(as_of).to_pydatetime())
    if ids is not None:
        where, params = f"IN ({', '.join(['%s'] * len(ids))})", list(ids)
    else:
        where, params = "BETWEEN %s AND %s", [lo, hi - 1]
    cust = _fetch(f"SELECT id, {_epoch('created_at')} FROM customers_customer "
                  f"WHERE id {where} ORDER BY id", params, [("id", "i8"), ("t", "i8")])
    orders = _fetch(f"SELECT {_bigint('customer_id')} * {SHIFT} + {_epoch('placed_at')}, "
                    f"{_number('total')} FROM customers_order WHERE customer_id {where} "
                    f"AND status = 'paid' AND placed_at <= %s", [*params, when],
                    [("key", "i8"), ("total", "f8")])
    code = (f"CASE WHEN kind = 'tier_changed' THEN {TIER_CHANGE} ELSE {ACTIVITY}"
            f" + CASE WHEN kind IN ({_in_list(INTERACTION_KINDS)}) THEN {INTERACTION} ELSE 0 END"
            f" + CASE WHEN kind IN ({_in_list(COMPLAINT_KINDS)}) THEN {COMPLAINT} ELSE 0 END END")
    system = tuple(k for k in SYSTEM_KINDS if k != "tier_changed")
    events = _fetch(f"SELECT {_bigint('customer_id')} * {SHIFT} + {_epoch('occurred_at')}, {code}, "
                    f"channel FROM customers_event WHERE customer_id {where} "
                    f"AND occurred_at <= %s AND kind NOT IN ({_in_list(system)})",
                    [*params, when], [("key", "i8"), ("code", "i8"), ("channel", "O")])
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT customer_id, stage, tier FROM analytics_customerscore "
                       f"WHERE customer_id {where}", params)
        previous = {row[0]: (row[1], row[2]) for row in cursor.fetchall()}
        cursor.execute(f"SELECT MAX(id) FROM customers_order WHERE customer_id {where}",
                       params)
        last_order_id = cursor.fetchone()[0] or 0
    channel_codes = (pd.factorize(events["channel"])[0] if len(events)
                     else np.empty(0, np.int64))
    return RangeData(
        ids=cust["id"], created=cust["t"].astype(float),
        order_customer=orders["key"] // SHIFT,
        order_time=(orders["key"] % SHIFT).astype(float), order_total=orders["total"],
        event_customer=events["key"] // SHIFT,
        event_time=(events["key"] % SHIFT).astype(float), event_code=events["code"],
        event_channel=channel_codes.astype(np.int64), previous=previous,
        last_order_id=int(last_order_id))


# --- facts ---------------------------------------------------------------------------

class _Rows:
    """Rows (orders or events) sorted by customer position and time."""

    def __init__(self, ids: np.ndarray, customer: np.ndarray, time: np.ndarray,
                 **columns: np.ndarray) -> None:
        # one int64 key (customer, then time) sorts several times faster than lexsort
        key = customer.astype(np.int64) * SHIFT + time.astype(np.int64)
        order = np.argsort(key, kind="stable")
        customer, time = customer[order], time[order]
        columns = {k: v[order] for k, v in columns.items()}
        pos = np.searchsorted(ids, customer)
        known = ((pos < len(ids)) & (ids[np.minimum(pos, len(ids) - 1)] == customer)
                 if len(ids) else np.zeros(len(customer), bool))
        order = np.flatnonzero(known)
        self.n = len(ids)
        self.pos = pos[known][order]
        self.time = time[known][order]
        self.columns = {k: v[known][order] for k, v in columns.items()}

    def count(self, mask: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        return np.bincount(self.pos[mask], weights=None if weights is None else weights[mask],
                           minlength=self.n).astype(float)

    def last(self, mask: np.ndarray) -> np.ndarray:
        """The latest time per customer among masked rows (NaN if none)."""
        return self._edge(mask, last=True)

    def first(self, mask: np.ndarray) -> np.ndarray:
        return self._edge(mask, last=False)

    def _edge(self, mask: np.ndarray, *, last: bool) -> np.ndarray:
        out = np.full(self.n, np.nan)
        pos, time = self.pos[mask], self.time[mask]
        if len(pos):
            # rows are time-ordered within a customer: take the row at each boundary
            edge = np.ones(len(pos), bool)
            if last:
                edge[:-1] = pos[1:] != pos[:-1]
            else:
                edge[1:] = pos[1:] != pos[:-1]
            out[pos[edge]] = time[edge]
        return out

    def distinct_days(self, mask: np.ndarray) -> np.ndarray:
        pos, day = self.pos[mask], np.floor(self.time[mask] / DAY)
        new = np.ones(len(pos), bool)
        new[1:] = (pos[1:] != pos[:-1]) | (day[1:] != day[:-1])
        return np.bincount(pos[new], minlength=self.n).astype(float)


def _cutoff_features(o: _Rows, e: _Rows, cutoff: float, *, label: bool,
                     horizon_days: int = HORIZON_DAYS) -> dict[str, np.ndarray]:
    """The churn features of every customer as known at `cutoff` (NaN for customers who
    had not bought by then), the purchase summary at the cutoff and, for past cutoffs,
    whether they bought in the horizon after it."""
    past = o.time <= cutoff
    age = (cutoff - o.time) / DAY
    total = o.columns["total"]
    last, first = o.last(past), o.first(past)
    orders = o.count(past)
    buyer = orders > 0
    out = {
        "recency_days": (cutoff - last) / DAY,
        "tenure_days": (cutoff - first) / DAY,
        "purchase_days_365": o.distinct_days(past & (age <= 365)),
        "purchase_days_90": o.distinct_days(past & (age <= 90)),
        "purchase_days_prev_90": o.distinct_days(past & (age > 90) & (age <= 180)),
        "spend_365": o.count(past & (age <= 365), total),
        "avg_order_value": np.divide(o.count(past, total), orders,
                                     out=np.full(o.n, np.nan), where=buyer),
    }
    out["trend_90"] = out["purchase_days_90"] - out["purchase_days_prev_90"]
    seen = e.time <= cutoff
    e_age = (cutoff - e.time) / DAY
    code = e.columns["code"]
    activity = seen & ((code & ACTIVITY) > 0)
    since_event = (cutoff - e.last(activity)) / DAY
    out["days_since_activity"] = np.fmin(since_event, out["recency_days"])
    out["interactions_90"] = e.count(seen & (e_age <= 90) & ((code & INTERACTION) > 0))
    out["complaints_180"] = e.count(seen & (e_age <= 180) & ((code & COMPLAINT) > 0))
    recent = seen & (e_age <= 365) & activity
    pairs = np.unique(e.pos[recent] * (int(e.columns["channel"].max(initial=0)) + 1)
                      + e.columns["channel"][recent])
    out["channels_365"] = np.bincount(
        pairs // (int(e.columns["channel"].max(initial=0)) + 1), minlength=o.n).astype(float)
    out["tier_changes_365"] = e.count(seen & (e_age <= 365) & ((code & TIER_CHANGE) > 0))
    for name in FEATURES:
        out[name] = np.where(buyer, out[name], np.nan)
    # the purchase summary at the cutoff (lifetimes' definitions, in days)
    first_day, last_day = np.floor(first / DAY), np.floor(last / DAY)
    out["x"] = np.where(buyer, o.distinct_days(past) - 1, np.nan)
    out["t_x"] = last_day - first_day
    out["T"] = np.floor(cutoff / DAY) - first_day
    if label:
        after = (o.time > cutoff) & (o.time <= cutoff + horizon_days * DAY)
        out["churned"] = np.where(buyer, (o.count(after) == 0).astype(float), np.nan)
    return out


def _rows(data: RangeData) -> tuple[_Rows, _Rows]:
    return (_Rows(data.ids, data.order_customer, data.order_time, total=data.order_total),
            _Rows(data.ids, data.event_customer, data.event_time, code=data.event_code,
                  channel=data.event_channel))


def cutoff_features(data: RangeData, cutoff: float, *, label: bool,
                    horizon_days: int = HORIZON_DAYS) -> pd.DataFrame:
    """The churn features (and summary, and label) of the range's customers at `cutoff`."""
    o, e = _rows(data)
    return pd.DataFrame(_cutoff_features(o, e, cutoff, label=label, horizon_days=horizon_days),
                        index=pd.Index(data.ids, name="customer_id"))


def range_facts(data: RangeData, now: float, rfm_days: int, lifecycle_days: int
                ) -> pd.DataFrame:
    """One row per customer of the range: what RFM, stages, the purchase models and the
    churn model need, at `now` and at the two past cutoffs the churn model learns from."""
    o, e = _rows(data)
    total = o.columns["total"]
    age = (now - o.time) / DAY
    day = np.floor(o.time / DAY)
    first = o.first(np.ones(len(o.time), bool))
    first_day = np.floor(first / DAY)
    on_first_day = day == first_day[o.pos] if len(o.pos) else np.zeros(0, bool)
    in_rfm, in_lc = age < rfm_days, age < lifecycle_days
    every = np.ones(len(o.time), bool)
    n_days = o.distinct_days(every)
    facts: dict[str, np.ndarray] = {
        "created": data.created,
        "first_at": first,
        "last_at": o.last(every),
        "rfm_last_at": o.last(in_rfm),
        "rfm_days": o.distinct_days(in_rfm),
        "rfm_spend": o.count(in_rfm, total),
        "lc_days": o.distinct_days(in_lc),
        "lc_spend": o.count(in_lc, total),
        "last_activity": e.last((e.columns["code"] & ACTIVITY) > 0),
        "frequency": n_days - 1,
        "recency": np.floor(o.last(every) / DAY) - first_day,
        "T": np.floor(now / DAY) - first_day,
        "monetary_value": np.divide(o.count(every, total) - o.count(on_first_day, total),
                                    n_days - 1, out=np.zeros(o.n), where=n_days > 1),
    }
    for prefix, cutoff, label in (("now", now, False),
                                  ("test", now - HORIZON_DAYS * DAY, True),
                                  ("train", now - 2 * HORIZON_DAYS * DAY, True)):
        for name, values in _cutoff_features(o, e, cutoff, label=label).items():
            facts[f"{prefix}.{name}"] = values
    return pd.DataFrame(facts, index=pd.Index(data.ids, name="customer_id"))


# --- models --------------------------------------------------------------------------

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


def fit_models(facts: pd.DataFrame, now: float, rfm: RFMConfig, lifecycle: LifecycleConfig,
               *, seed: int = 7, previous: Fitted | None = None) -> Fitted:
    """Thresholds and models from all customers' facts. The purchase model is fitted on a
    random sample (four parameters need far fewer than a million customers), starting
    from the previous run's parameters when there are some."""
    from guanxi.analytics.churn import churn_fit
    from guanxi.analytics.clv import GammaGamma, ParetoNBD

    values = _rfm_values(facts, now)
    thresholds: dict[str, list[float]] = {}
    if len(values) and rfm.method == "quantile":
        thresholds = _thresholds(values, rfm_scores(values, rfm))
    spend = facts["lc_spend"].to_numpy()
    buyers = spend[spend > 0]
    high = (float(np.quantile(buyers, 1 - lifecycle.high_value_share))
            if len(buyers) and lifecycle.high_value_share > 0 else float("inf"))
    fitted = Fitted(rfm=rfm, lifecycle=lifecycle, thresholds=thresholds, high_value_spend=high)
    rng = np.random.default_rng(seed)
    summary = facts.loc[facts["first_at"].notna(),
                        ["frequency", "recency", "T", "monetary_value"]]
    if (summary["frequency"] > 0).sum() >= MIN_REPEAT_BUYERS:
        sample = summary.iloc[rng.permutation(len(summary))[:FIT_SAMPLE]]
        start = (previous.purchases.params_ if previous is not None
                 and isinstance(previous.purchases, ParetoNBD) else None)
        fitted.purchases = ParetoNBD().fit(sample["frequency"], sample["recency"],
                                           sample["T"], start=start)
        repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
        if len(repeat) >= 20:
            repeat = repeat.iloc[rng.permutation(len(repeat))[:FIT_SAMPLE]]
            fitted.spend = GammaGamma().fit(repeat["frequency"], repeat["monetary_value"])
        else:
            fitted.spend = float(repeat["monetary_value"].mean()) if len(repeat) else 0.0
        fitted.figures["fit_customers"] = len(sample)
    train = _cutoff_frame(facts, "train")
    test = _cutoff_frame(facts, "test")
    if len(train) > CHURN_SAMPLE:
        train = train.iloc[rng.permutation(len(train))[:CHURN_SAMPLE]]
    if len(test) > CHURN_SAMPLE:  # the AUC of 200,000 customers is precise enough
        test = test.iloc[rng.permutation(len(test))[:CHURN_SAMPLE]]
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
    out["churn_reasons"] = pd.Series([[] for _ in range(n)], index=out.index, dtype=object)
    current = _cutoff_frame(facts, "now")
    if fitted.churn is not None and len(current):
        features = current[list(FEATURES)]
        out.loc[current.index, "churn_risk"] = np.round(fitted.churn.predict(features), 4)
        if len(current) <= REASONS_MAX:
            out.loc[current.index, "churn_reasons"] = pd.Series(
                churn_reasons(fitted, features), index=current.index, dtype=object)
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


# --- ranges across processes ------------------------------------------------------------

@dataclass
class RangeFacts:
    facts: pd.DataFrame
    previous: dict[int, tuple[str, str]]   # customer id -> (stage, tier) before this run
    last_order_id: int


def facts_for_range(lo: int, hi: int, as_of: dt.datetime, rfm_days: int,
                    lifecycle_days: int) -> RangeFacts:
    """One unit of work: read a customer-id range and compute its facts."""
    data = read_range(lo, hi, as_of)
    return RangeFacts(range_facts(data, as_of.timestamp(), rfm_days, lifecycle_days),
                      data.previous, data.last_order_id)


def _child_setup(database: dict[str, Any]) -> None:
    """A worker process: Django set up against the parent's database (under tests that is
    the test database, whose name exists only in the parent's settings)."""
    import django
    from django.conf import settings

    settings.DATABASES["default"].update(database)  # type: ignore[typeddict-item]
    django.setup()


def read_facts_parallel(ranges: list[tuple[int, int]], as_of: dt.datetime, rfm_days: int,
                        lifecycle_days: int, processes: int) -> Iterator[RangeFacts]:
    """The facts of each range, in order; with processes > 1 ranges are read by that many
    worker processes at once (each its own database connection)."""
    if processes <= 1 or len(ranges) <= 1:
        for lo, hi in ranges:
            yield facts_for_range(lo, hi, as_of, rfm_days, lifecycle_days)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    database = {k: v for k, v in connection.settings_dict.items()
                if k in ("NAME", "USER", "PASSWORD", "HOST", "PORT")}
    with ProcessPoolExecutor(max_workers=min(processes, len(ranges)),
                             mp_context=multiprocessing.get_context("spawn"),
                             initializer=_child_setup, initargs=(database,)) as pool:
        futures = [pool.submit(facts_for_range, lo, hi, as_of, rfm_days, lifecycle_days)
                   for lo, hi in ranges]
        for future in futures:
            yield future.result()
