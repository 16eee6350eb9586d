"""RFM values, scores and value tiers: pure functions."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guanxi.analytics.rfm import RFMConfig, rfm_scores, rfm_values, value_tiers

AS_OF = pd.Timestamp("2026-11-23 12:00", tz="Asia/Shanghai")


def _orders(rows):
    return pd.DataFrame(rows, columns=["customer_id", "placed_at", "total"]).assign(
        placed_at=lambda d: pd.to_datetime(d["placed_at"], format="mixed")
        .dt.tz_localize("Asia/Shanghai"))


def test_values_count_purchase_days_in_the_window():
    orders = _orders([
        (1, "2026-11-20 10:00", 100), (1, "2026-11-20 18:00", 50), (1, "2026-10-01", 30),
        (2, "2025-01-01", 999),  # outside the 365-day window
        (3, "2026-11-24", 10),   # after as_of
        (4, "2026-06-01", 500)])
    v = rfm_values(orders, as_of=AS_OF, window_days=365)
    assert sorted(v.index) == [1, 4]
    assert v.loc[1, "frequency"] == 2 and v.loc[1, "monetary"] == 180
    assert v.loc[1, "recency_days"] == pytest.approx(2.75)  # 20 Nov 18:00 -> 23 Nov 12:00


def test_fixed_breakpoints():
    v = pd.DataFrame({"recency_days": [10, 30, 31, 400], "frequency": [1, 2, 9, 3],
                      "monetary": [50, 100, 20000, 600]}, index=[1, 2, 3, 4])
    s = rfm_scores(v, RFMConfig(method="fixed"))
    assert list(s["r"]) == [5, 5, 4, 1]
    assert list(s["f"]) == [1, 2, 5, 3]
    assert list(s["m"]) == [1, 1, 5, 3]
    assert s.loc[3, "rfm"] == "455"


def test_quantile_scores_split_customers_into_fifths():
    n = 1000
    v = pd.DataFrame({"recency_days": np.arange(n, dtype=float),
                      "frequency": np.arange(n, dtype=float),
                      "monetary": np.arange(n, dtype=float)})
    s = rfm_scores(v, RFMConfig())
    assert s["f"].value_counts().to_dict() == {1: 200, 2: 200, 3: 200, 4: 200, 5: 200}
    assert s.loc[0, "r"] == 5 and s.loc[n - 1, "r"] == 1  # most recent scores best


def test_tiers_and_the_eight_cells():
    scores = pd.DataFrame({"r": [5, 5, 1, 1, 5, 5, 1, 1], "f": [5, 1, 5, 1, 5, 1, 5, 1],
                           "m": [5, 5, 5, 5, 1, 1, 1, 1]})
    t = value_tiers(scores, RFMConfig())
    assert list(t["cell"]) == ["important_value", "important_development", "important_keep",
                               "important_winback", "general_value", "general_development",
                               "general_keep", "general_winback"]
    assert list(t["tier"]) == ["important_value", "important_development",
                               "important_development", "important_development",
                               "general_value", "general_value", "general_value",
                               "low_value"]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 365), st.integers(1, 50), st.floats(0.01, 1e5)),
                min_size=1, max_size=60))
def test_scores_are_1_to_5_and_more_recent_never_scores_lower(rows):
    v = pd.DataFrame(rows, columns=["recency_days", "frequency", "monetary"])
    for method in ("quantile", "fixed"):
        s = rfm_scores(v, RFMConfig(method=method))
        assert s[["r", "f", "m"]].isin([1, 2, 3, 4, 5]).all().all()
        order = v["recency_days"].argsort(kind="stable").to_numpy()
        r = s["r"].to_numpy()[order]
        assert (np.diff(r) <= 0).all()  # sorted by recency ascending, scores never rise
        assert set(value_tiers(s, RFMConfig())["tier"]) <= {
            "important_value", "important_development", "general_value", "low_value"}


def test_fixed_breakpoints_must_be_four_ascending():
    v = pd.DataFrame({"recency_days": [1.0], "frequency": [1.0], "monetary": [1.0]})
    with pytest.raises(ValueError, match="four ascending"):
        rfm_scores(v, RFMConfig(method="fixed", recency_breaks=(90, 30, 180, 365)))


def test_window_boundary_is_exclusive_at_the_start():
    orders = _orders([(1, str((AS_OF - dt.timedelta(days=365)).tz_localize(None)), 10)])
    assert rfm_values(orders, as_of=AS_OF, window_days=365).empty
