"""Lifecycle stages: new, active, potential, dormant, churned and high-value, from a few
facts per customer and rules a business can change. Pure functions over pandas frames.

Rules are applied in this order, the first that holds wins:

  churned     no purchase or interaction for `churned_days`
  dormant     no purchase or interaction for `dormant_days`
  high_value  among the top `high_value_share` of spend in the window (and not dormant)
  new         first seen (registered or first purchase) within `new_days`
  active      at least `active_min_purchases` purchase days in the window, or a purchase
              within `active_days`
  potential   everyone else: known and in touch, not (yet) buying regularly
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from django.utils.translation import gettext_lazy as _

from guanxi.analytics.rfm import ConfigError

STAGES = ("new", "active", "potential", "dormant", "churned", "high_value")


@dataclass(frozen=True)
class LifecycleConfig:
    """The stage rules; stored per business in settings."""

    window_days: int = 365
    new_days: int = 30
    active_days: int = 90
    active_min_purchases: int = 2
    dormant_days: int = 180
    churned_days: int = 365
    high_value_share: float = 0.10

    def __post_init__(self) -> None:
        for name in ("window_days", "new_days", "active_days", "dormant_days",
                     "churned_days"):
            if not 1 <= getattr(self, name) <= 3650:
                raise ConfigError(name, _("Days are 1 to 3650"))
        if self.active_min_purchases < 1:
            raise ConfigError("active_min_purchases", _("At least one purchase"))
        if not self.dormant_days < self.churned_days:
            raise ConfigError("dormant_days", _("Dormant must come before churned"))
        if not 0 <= self.high_value_share <= 1:
            raise ConfigError("high_value_share", _("A share between 0 and 1"))


def lifecycle_stages(facts: pd.DataFrame, config: LifecycleConfig, *,
                     high_value_spend: float | None = None) -> pd.Series:
    """One stage per customer.

    `facts` columns: days_since_first_seen, days_since_last_purchase (NaN if never),
    days_since_last_activity (purchase or interaction; NaN if none),
    purchases_in_window, spend_in_window."""
    seen = facts["days_since_first_seen"].to_numpy(dtype=float)
    last_buy = facts["days_since_last_purchase"].to_numpy(dtype=float)
    last_any = np.fmin(facts["days_since_last_activity"].to_numpy(dtype=float), last_buy)
    quiet = np.where(np.isnan(last_any), seen, last_any)  # never active: since first seen
    spend = facts["spend_in_window"].fillna(0).to_numpy(dtype=float)
    buyers = spend > 0
    top = np.zeros(len(facts), dtype=bool)
    if high_value_spend is None and buyers.any() and config.high_value_share > 0:
        high_value_spend = float(np.quantile(spend[buyers], 1 - config.high_value_share))
    if high_value_spend is not None:
        top = buyers & (spend >= high_value_spend)
    purchases = facts["purchases_in_window"].fillna(0).to_numpy(dtype=float)
    stage = np.select(
        [quiet >= config.churned_days,
         quiet >= config.dormant_days,
         top,
         seen <= config.new_days,
         (purchases >= config.active_min_purchases)
         | (np.nan_to_num(last_buy, nan=np.inf) <= config.active_days)],
        ["churned", "dormant", "high_value", "new", "active"],
        default="potential")
    return pd.Series(stage, index=facts.index, name="stage")
