"""RFM: recency, frequency and monetary value per customer, 1–5 scores, and value tiers.

Pure functions over pandas frames; the scoring job feeds them orders and stores results.

    values = rfm_values(orders, as_of=today, window_days=365)
    scores = rfm_scores(values, RFMConfig())
    tiers = value_tiers(scores, RFMConfig())

Scores: 5 is best (most recent, most frequent, highest spend). Quantile scoring splits the
customers who bought in the window into fifths; fixed scoring uses breakpoints a business
sets (e.g. recency 30/90/180/365 days). Customers with no purchase in the window get no
scores and the tier "no purchases".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from django.utils.translation import gettext_lazy as _

FOUR_TIERS = ("important_value", "important_development", "general_value", "low_value")
EIGHT_CELLS = {
    # (R high, F high, M high) -> the classic map
    (True, True, True): "important_value",         # 重要价值
    (True, False, True): "important_development",  # 重要发展
    (False, True, True): "important_keep",         # 重要保持
    (False, False, True): "important_winback",     # 重要挽留
    (True, True, False): "general_value",          # 一般价值
    (True, False, False): "general_development",   # 一般发展
    (False, True, False): "general_keep",          # 一般保持
    (False, False, False): "general_winback",      # 一般挽留
}
NO_PURCHASES = "no_purchases"


class ConfigError(ValueError):
    """A scoring setting that cannot work, naming the setting."""

    def __init__(self, field: str, message: Any) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


@dataclass(frozen=True)
class RFMConfig:
    """How RFM is scored; stored per business in settings, editable by managers."""

    window_days: int = 365
    method: Literal["quantile", "fixed"] = "quantile"
    # Fixed breakpoints (four each, making five scores). Recency in days, ascending:
    # <=30 days scores 5, <=90 scores 4 ... ; frequency and monetary ascending: above the
    # last breakpoint scores 5.
    recency_breaks: tuple[float, ...] = (30, 90, 180, 365)
    frequency_breaks: tuple[float, ...] = (1, 2, 4, 8)
    monetary_breaks: tuple[float, ...] = (100, 500, 2000, 10000)
    # A dimension is "high" at this score or above (for the tiers and the eight cells).
    high_score: int = 4
    extra: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 1 <= self.window_days <= 3650:
            raise ConfigError("window_days", _("The window is 1 to 3650 days"))
        if self.method not in ("quantile", "fixed"):
            raise ConfigError("method", _("Scoring is by quantiles or fixed breakpoints"))
        for name in ("recency_breaks", "frequency_breaks", "monetary_breaks"):
            breaks = getattr(self, name)
            if len(breaks) != 4 or list(breaks) != sorted(breaks) or min(breaks) < 0:
                raise ConfigError(name, _("Give four ascending numbers, none below 0"))
        if not 1 <= self.high_score <= 5:
            raise ConfigError("high_score", _("A score is 1 to 5"))


def rfm_values(orders: pd.DataFrame, *, as_of: dt.datetime | pd.Timestamp,
               window_days: int = 365, customer_col: str = "customer_id",
               time_col: str = "placed_at", amount_col: str = "total") -> pd.DataFrame:
    """Per customer with a purchase in (as_of - window, as_of]: recency_days (since the
    last purchase), frequency (purchase days) and monetary (total spend)."""
    as_of = pd.Timestamp(as_of)
    if orders.empty:
        return pd.DataFrame(columns=["recency_days", "frequency", "monetary"],
                            index=pd.Index([], name=customer_col), dtype=float)
    when = pd.to_datetime(orders[time_col])
    if when.dt.tz is not None and as_of.tzinfo is None:
        as_of = as_of.tz_localize(when.dt.tz)
    start = as_of - pd.Timedelta(days=window_days)
    inside = orders[(when > start) & (when <= as_of)].assign(_when=when, _day=when.dt.floor("D"))
    grouped = inside.groupby(customer_col)
    out = pd.DataFrame({
        "recency_days": (as_of - grouped["_when"].max()).dt.total_seconds() / 86400,
        "frequency": grouped["_day"].nunique().astype(float),
        "monetary": grouped[amount_col].sum().astype(float),
    })
    out.index.name = customer_col
    return out


def _quantile_score(values: pd.Series, *, higher_is_better: bool) -> pd.Series:
    # Rank first so ties (most customers bought once) do not collapse the fifths.
    ranks = values.rank(method="average", ascending=higher_is_better, pct=True)
    return np.ceil(ranks * 5).clip(1, 5).astype(int)


def _fixed_score(values: pd.Series, breaks: tuple[float, ...], *, higher_is_better: bool
                 ) -> pd.Series:
    if len(breaks) != 4 or list(breaks) != sorted(breaks):
        raise ValueError("give four ascending breakpoints")
    # A value on a breakpoint belongs to the lower bucket: 30 days is "within 30 days",
    # spending exactly 100 is not "above 100".
    position = np.searchsorted(np.asarray(breaks, dtype=float), values.to_numpy(),
                               side="left")
    # Frequency and spend: above the last breakpoint scores 5; recency: within the first.
    scores = position + 1 if higher_is_better else 5 - position
    return pd.Series(np.clip(scores, 1, 5), index=values.index).astype(int)


def rfm_scores(values: pd.DataFrame, config: RFMConfig) -> pd.DataFrame:
    """r, f, m scores 1–5 and their concatenation (e.g. "545") per customer."""
    if values.empty:
        return pd.DataFrame(columns=["r", "f", "m", "rfm"], index=values.index)
    if config.method == "quantile":
        r = _quantile_score(-values["recency_days"], higher_is_better=True)
        f = _quantile_score(values["frequency"], higher_is_better=True)
        m = _quantile_score(values["monetary"], higher_is_better=True)
    elif config.method == "fixed":
        r = _fixed_score(values["recency_days"], config.recency_breaks, higher_is_better=False)
        f = _fixed_score(values["frequency"], config.frequency_breaks, higher_is_better=True)
        m = _fixed_score(values["monetary"], config.monetary_breaks, higher_is_better=True)
    else:
        raise ValueError("method is 'quantile' or 'fixed'")
    out = pd.DataFrame({"r": r, "f": f, "m": m})
    out["rfm"] = out["r"].astype(str) + out["f"].astype(str) + out["m"].astype(str)
    return out


def value_tiers(scores: pd.DataFrame, config: RFMConfig) -> pd.DataFrame:
    """The four value tiers and the classic eight-cell map per scored customer.

    Four tiers: important value (recent, frequent and high spend), important development
    (high spend, not all three), general value (recent or frequent, not high spend),
    low value (the rest)."""
    high_r = scores["r"] >= config.high_score
    high_f = scores["f"] >= config.high_score
    high_m = scores["m"] >= config.high_score
    four = np.select(
        [high_r & high_f & high_m, high_m, high_r | high_f],
        ["important_value", "important_development", "general_value"],
        default="low_value")
    # the cell of each (R, F, M) high/low combination, looked up by a 3-bit code
    cells = np.array([EIGHT_CELLS[(bool(k & 4), bool(k & 2), bool(k & 1))] for k in range(8)],
                     dtype=object)
    eight = cells[4 * high_r.to_numpy(dtype=int) + 2 * high_f.to_numpy(dtype=int)
                  + high_m.to_numpy(dtype=int)]
    return pd.DataFrame({"tier": four, "cell": eight}, index=scores.index)
