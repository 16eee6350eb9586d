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

import contextlib
import datetime as dt
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from django.db import DatabaseError, connection

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


SHIFT = 2 ** 32  # customer id and epoch second packed in one integer sort together


def _epoch(column: str) -> str:
    """Whole epoch seconds of a timestamp column (fractions dropped), as an integer."""
    if connection.vendor == "postgresql":
        return f"floor(date_part('epoch', {column}))::bigint"  # float8: cheaper than EXTRACT
    import sqlite3

    if sqlite3.sqlite_version_info >= (3, 38):
        return f"unixepoch({column})"
    return f"CAST((julianday({column}) - 2440587.5) * 86400 AS INTEGER)"


def _in_list(values: tuple[str, ...]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def _fetch(columns: list[tuple[str, str, str]], source: str, params: list[Any],
           owner: str, *, scattered: bool = False) -> dict[str, np.ndarray]:
    """`SELECT <owner>, <columns> FROM <source>` as numpy columns (the owner column, an
    integer, under the name "owner"); `columns` are (name, SQL expression, numpy dtype),
    expressions never NULL. PostgreSQL sends one text row per owner (a customer): its
    rows as CSV lines joined on the server, parsed by pandas in C. Row-by-row transfer
    (COPY included) costs the client more than the query costs the server. On SQLite
    numpy converts the row tuples in C. `scattered`: the rows lie all over the table (a
    customer's events were written over years), so PostgreSQL reads the pages in order
    (bitmap scan) instead of following the index to each row (measured: half the time)."""
    names = [name for name, _expr, _kind in columns]
    dtype = [("owner", "i8"), *[(name, kind) for name, _expr, kind in columns]]
    exprs = [expr for _name, expr, _kind in columns]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            if scattered:
                cursor.execute("SELECT current_setting('enable_indexscan'), "
                               "set_config('enable_indexscan', 'off', false)")
                before = cursor.fetchone()[0]
            try:
                cursor.execute(f"SELECT {owner}, count(*), string_agg(concat_ws(',', "
                               f"{', '.join(exprs)}), E'\\n') FROM {source} "
                               f"GROUP BY {owner}", params)
                groups = cursor.fetchall()
            finally:
                # (after a failed query in a transaction, its rollback restores it anyway)
                with contextlib.suppress(DatabaseError):
                    if scattered:
                        cursor.execute("SELECT set_config('enable_indexscan', %s, false)",
                                       [before])
        if not groups:
            return {name: np.empty(0, dtype=kind) for name, kind in dtype}
        owners, counts = np.array([(g[0], g[1]) for g in groups], dtype=np.int64).T
        frame = pd.read_csv(io.BytesIO("\n".join(g[2] for g in groups).encode()),
                            header=None, names=names, dtype=dict(dtype[1:]),
                            keep_default_na=False)
        return {"owner": np.repeat(owners, counts),
                **{name: frame[name].to_numpy() for name in names}}
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {owner}, {', '.join(exprs)} FROM {source}", params)
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
    postgres = connection.vendor == "postgresql"
    cust = _fetch([("id", "id", "i8"), ("t", _epoch("created_at"), "i8")],
                  f"customers_customer WHERE id {where}", params, "id / 1000")
    orders = _fetch([("time", _epoch("placed_at"), "i8"), ("total", "total", "f8")],
                    f"customers_order WHERE customer_id {where} AND status = 'paid' "
                    f"AND placed_at <= %s", [*params, when], "customer_id")
    code = (f"CASE WHEN kind = 'tier_changed' THEN {TIER_CHANGE} ELSE {ACTIVITY}"
            f" + CASE WHEN kind IN ({_in_list(INTERACTION_KINDS)}) THEN {INTERACTION} ELSE 0 END"
            f" + CASE WHEN kind IN ({_in_list(COMPLAINT_KINDS)}) THEN {COMPLAINT} ELSE 0 END END")
    system = tuple(k for k in SYSTEM_KINDS if k != "tier_changed")
    # a first tier (from none, as every customer gets at their first scoring) is no change
    first_tier = ("data->>'from' IS NULL" if postgres
                  else "json_extract(data, '$.from') IS NULL")
    events = _fetch([("time", _epoch("occurred_at"), "i8"), ("code", code, "i8"),
                     # only distinctness matters: PostgreSQL sends a hash (no quoting)
                     ("channel", "hashtext(channel)" if postgres else "channel",
                      "i8" if postgres else "O")],
                    f"customers_event WHERE customer_id {where} AND occurred_at <= %s "
                    f"AND kind NOT IN ({_in_list(system)}) "
                    f"AND NOT (kind = 'tier_changed' AND {first_tier})", [*params, when],
                    "customer_id", scattered=True)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT customer_id, stage, tier FROM analytics_customerscore "
                       f"WHERE customer_id {where}", params)
        previous = {row[0]: (row[1], row[2]) for row in cursor.fetchall()}
        cursor.execute(f"SELECT MAX(id) FROM customers_order WHERE customer_id {where}",
                       params)
        last_order_id = cursor.fetchone()[0] or 0
    channel_codes = (pd.factorize(events["channel"])[0] if len(events["channel"])
                     else np.empty(0, np.int64))
    order = np.argsort(cust["id"], kind="stable")
    return RangeData(
        ids=cust["id"][order], created=cust["t"][order].astype(float),
        order_customer=orders["owner"], order_time=orders["time"].astype(float),
        order_total=orders["total"].astype(float),
        event_customer=events["owner"], event_time=events["time"].astype(float),
        event_code=events["code"], event_channel=channel_codes.astype(np.int64),
        previous=previous,
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


FIT_COLUMNS = ("rfm_last_at", "rfm_days", "rfm_spend", "lc_spend", "first_at", "frequency",
               "recency", "T", "monetary_value")  # of every customer, for fit_models


def fit_models(extract: pd.DataFrame, train: pd.DataFrame, test: pd.DataFrame, now: float,
               rfm: RFMConfig, lifecycle: LifecycleConfig, *, seed: int = 7,
               previous: Fitted | None = None) -> Fitted:
    """Thresholds and models. `extract`: the FIT_COLUMNS of every customer; `train` and
    `test`: the churn features of (a sample of) the buyers at the two past cutoffs. The
    purchase model is fitted on a random sample (four parameters need far fewer than a
    million customers), starting from the previous run's parameters when there are some."""
    from guanxi.analytics.churn import churn_fit

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

CUTOFFS = ("train", "test")  # the churn model learns at one past cutoff, is tested at the other


@dataclass
class RangeFacts:
    facts: pd.DataFrame
    previous: dict[int, tuple[str, str]]   # customer id -> (stage, tier) before this run
    last_order_id: int


@dataclass
class RangeRead:
    """What a full run's first pass learns from one range."""

    lo: int
    extract: pd.DataFrame      # FIT_COLUMNS of every customer of the range
    buyers: dict[str, int]     # buyers at each churn cutoff


@dataclass
class RangeScored:
    """A range scored and written."""

    customers: int
    changed: int
    last_order_id: int


def facts_for_range(lo: int, hi: int, as_of: dt.datetime, rfm_days: int,
                    lifecycle_days: int) -> RangeFacts:
    """Read a customer-id range and compute its facts."""
    data = read_range(lo, hi, as_of)
    return RangeFacts(range_facts(data, as_of.timestamp(), rfm_days, lifecycle_days),
                      data.previous, data.last_order_id)


class RangeHolder:
    """The facts of the ranges one process has read, kept between the passes of a full
    run: read (what fitting needs goes back), sample (churn rows), score (apply, write)."""

    def __init__(self, as_of: dt.datetime, rfm_days: int, lifecycle_days: int) -> None:
        self.as_of, self.rfm_days, self.lifecycle_days = as_of, rfm_days, lifecycle_days
        self.held: dict[int, RangeFacts] = {}

    def read(self, lo: int, hi: int) -> RangeRead:
        part = facts_for_range(lo, hi, self.as_of, self.rfm_days, self.lifecycle_days)
        self.held[lo] = part
        return RangeRead(lo, part.facts[list(FIT_COLUMNS)],
                         {c: int(part.facts[f"{c}.recency_days"].notna().sum())
                          for c in CUTOFFS})

    def sample(self, lo: int, counts: dict[str, int], seed: int) -> dict[str, pd.DataFrame]:
        """`counts[cutoff]` of the range's buyers at each cutoff, drawn at random."""
        rng = np.random.default_rng([seed, lo])
        facts = self.held[lo].facts
        out = {}
        for cutoff in CUTOFFS:
            buyers = np.flatnonzero(facts[f"{cutoff}.recency_days"].notna().to_numpy())
            pick = np.sort(rng.choice(len(buyers), counts[cutoff], replace=False))
            out[cutoff] = _cutoff_frame(facts.iloc[buyers[pick]], cutoff)
        return out

    def score(self, lo: int, fitted: Fitted, write: Callable[..., int]) -> RangeScored:
        part = self.held.pop(lo)
        scores = apply_models(part.facts, fitted, self.as_of.timestamp())
        changed = write(scores, part.previous, self.as_of)
        return RangeScored(len(scores), changed, part.last_order_id)


def _child_setup(database: dict[str, Any]) -> None:
    """A worker process: Django set up against the parent's database (under tests that is
    the test database, whose name exists only in the parent's settings)."""
    import os

    import django
    from django.conf import settings

    # the workers share the cores: one thread each for the model libraries (OpenMP threads
    # of two workers, spinning on two cores, slow both down)
    os.environ["OMP_NUM_THREADS"] = "1"
    settings.DATABASES["default"].update(database)  # type: ignore[typeddict-item]
    django.setup()


def _serve(pipe: Any, database: dict[str, Any], ranges: list[tuple[int, int]],
           as_of: dt.datetime, rfm_days: int, lifecycle_days: int) -> None:
    """A worker process's life: read its ranges, then answer the parent's requests for
    samples and for scoring until told to stop. Errors go back as text."""
    import traceback

    try:
        _child_setup(database)
        holder = RangeHolder(as_of, rfm_days, lifecycle_days)
        for lo, hi in ranges:
            pipe.send(("ok", holder.read(lo, hi)))
        # while the parent fits: load what unpickling the fitted models will need
        import lightgbm  # noqa: F401
        import sklearn.isotonic  # noqa: F401
        while True:
            command, payload = pipe.recv()
            if command == "sample":
                for lo, counts, seed in payload:
                    pipe.send(("ok", (lo, holder.sample(lo, counts, seed))))
            elif command == "score":
                fitted, write = payload
                for lo in list(holder.held):
                    pipe.send(("ok", holder.score(lo, fitted, write)))
            else:
                return
    except BaseException:  # reported to the parent, which raises
        pipe.send(("error", traceback.format_exc()))
    finally:
        connection.close()
        pipe.close()


class RangeWorkers:
    """A full run's ranges shared by `processes` worker processes, each holding the facts
    of the ranges it read until they are scored (each its own database connection); with
    one process, this process does it all. Use as a context manager."""

    def __init__(self, ranges: list[tuple[int, int]], as_of: dt.datetime, rfm_days: int,
                 lifecycle_days: int, processes: int) -> None:
        self.ranges = ranges
        self.local: RangeHolder | None = None
        self.pipes: list[Any] = []
        self.owner: dict[int, Any] = {}   # range start -> the pipe of the process holding it
        self.held: dict[Any, int] = {}    # pipe -> how many ranges its process holds
        self.procs: list[Any] = []
        if processes <= 1 or len(ranges) <= 1:
            self.local = RangeHolder(as_of, rfm_days, lifecycle_days)
            return
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        database = {k: v for k, v in connection.settings_dict.items()
                    if k in ("NAME", "USER", "PASSWORD", "HOST", "PORT")}
        for i in range(min(processes, len(ranges))):
            mine = ranges[i::processes]
            parent, child = context.Pipe()
            proc = context.Process(target=_serve, daemon=True, args=(
                child, database, mine, as_of, rfm_days, lifecycle_days))
            proc.start()
            child.close()
            self.pipes.append(parent)
            self.procs.append(proc)
            self.owner.update({lo: parent for lo, _hi in mine})
            self.held[parent] = len(mine)

    def __enter__(self) -> RangeWorkers:
        return self

    def __exit__(self, *exc: object) -> None:
        for pipe in self.pipes:
            with contextlib.suppress(BrokenPipeError, OSError):  # the worker is gone
                pipe.send(("stop", None))
        for proc in self.procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.terminate()

    def _answers(self, expected: dict[Any, int]) -> Iterator[Any]:
        """Answers as they arrive: `expected[pipe]` from each pipe."""
        from multiprocessing.connection import wait

        waiting = {pipe: n for pipe, n in expected.items() if n}
        while waiting:
            for ready in wait(list(waiting)):
                pipe: Any = ready
                try:
                    status, value = pipe.recv()
                except EOFError:
                    raise RuntimeError("a scoring worker process died") from None
                if status == "error":
                    raise RuntimeError(f"a scoring worker failed:\n{value}")
                waiting[pipe] -= 1
                if not waiting[pipe]:
                    del waiting[pipe]
                yield value

    def read(self) -> Iterator[RangeRead]:
        """Pass 1: every range read, in the order they finish."""
        if self.local is not None:
            for lo, hi in self.ranges:
                yield self.local.read(lo, hi)
            return
        yield from self._answers(self.held)

    def sample(self, counts: dict[int, dict[str, int]], seed: int
               ) -> dict[str, pd.DataFrame]:
        """Pass 2: `counts[range start][cutoff]` random buyers of each range at each churn
        cutoff, gathered into one frame per cutoff (in range order)."""
        if self.local is not None:
            parts = {lo: self.local.sample(lo, c, seed) for lo, c in counts.items()}
        else:
            for pipe in self.pipes:
                pipe.send(("sample", [(lo, c, seed) for lo, c in counts.items()
                                      if self.owner[lo] is pipe]))
            parts = dict(self._answers(self.held))
        return {cutoff: pd.concat([parts[lo][cutoff] for lo in sorted(parts)])
                for cutoff in CUTOFFS}

    def score(self, fitted: Fitted, write: Callable[..., int]) -> Iterator[RangeScored]:
        """Pass 3: every range scored with the fitted models and written by `write`
        (a module-level function: it travels to the worker processes by name)."""
        if self.local is not None:
            for lo, _hi in self.ranges:
                yield self.local.score(lo, fitted, write)
            return
        for pipe in self.pipes:
            pipe.send(("score", (fitted, write)))
        yield from self._answers(self.held)


def sample_counts(reads: list[RangeRead], limit: int, seed: int) -> dict[int, dict[str, int]]:
    """How many buyers to draw from each range at each cutoff so that together they are a
    uniform random sample of at most `limit` of all of them (multivariate hypergeometric
    shares, exactly as drawing from the pooled buyers)."""
    rng = np.random.default_rng(seed)
    out: dict[int, dict[str, int]] = {r.lo: {} for r in reads}
    for cutoff in CUTOFFS:
        available = np.array([r.buyers[cutoff] for r in reads], dtype=np.int64)
        take = (rng.multivariate_hypergeometric(available, min(limit, int(available.sum())))
                if available.sum() else available)
        for r, n in zip(reads, take, strict=True):
            out[r.lo][cutoff] = int(n)
    return out
