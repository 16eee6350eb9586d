"""Per-customer facts from the raw rows of a range: numpy only, no database."""

from __future__ import annotations

import numpy as np
import pandas as pd

from guanxi.analytics.churn_model import FEATURES
from guanxi.analytics.scoring.extract import (
    ACTIVITY,
    COMPLAINT,
    DAY,
    HORIZON_DAYS,
    INTERACTION,
    SHIFT,
    TIER_CHANGE,
    RangeData,
)


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
