"""guanxi.analytics.clv against the published CDNOW results and the lifetimes package."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guanxi.analytics.clv import BetaGeo, GammaGamma, clv, summary_from_transactions

lifetimes = pytest.importorskip("lifetimes", reason="the CDNOW data ships with lifetimes")
DATA = Path(lifetimes.__file__).parent / "datasets"


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return pd.read_csv(DATA / "cdnow_customers_summary.csv", index_col=0)


@pytest.fixture(scope="module")
def cdnow_money() -> pd.DataFrame:
    frame = pd.read_csv(DATA / "cdnow_customers_summary_with_transactions.csv", index_col=0)
    frame.columns = ["frequency", "recency", "T", "monetary_value"]
    return frame


def test_bg_nbd_reproduces_the_published_cdnow_parameters(cdnow):
    bg = BetaGeo().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    # Fader, Hardie & Lee (2005): r = 0.243, alpha = 4.414, a = 0.793, b = 2.426
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    assert {name: round(value, 3) for name, value in bg.params_.items()} == published


def test_gamma_gamma_reproduces_the_published_cdnow_parameters(cdnow_money):
    repeat = cdnow_money[cdnow_money["frequency"] > 0]
    gg = GammaGamma().fit(repeat["frequency"], repeat["monetary_value"])
    # Fader & Hardie (2013): p = 6.25, q = 3.74, gamma = 15.44
    assert round(gg.params_["p"], 2) == 6.25
    assert round(gg.params_["q"], 2) == 3.74
    assert gg.params_["v"] == pytest.approx(15.44, abs=0.01)


def test_predictions_match_lifetimes(cdnow, cdnow_money):
    x, tx, t = cdnow["frequency"], cdnow["recency"], cdnow["T"]
    bg = BetaGeo().fit(x, tx, t)
    ref = lifetimes.BetaGeoFitter().fit(x, tx, t)
    assert np.allclose(bg.expected_purchases(39, x, tx, t),
                       ref.conditional_expected_number_of_purchases_up_to_time(39, x, tx, t),
                       atol=1e-4)
    assert np.allclose(bg.p_alive(x, tx, t), ref.conditional_probability_alive(x, tx, t),
                       atol=1e-4)
    m = cdnow_money
    repeat = m[m["frequency"] > 0]
    gg = GammaGamma().fit(repeat["frequency"], repeat["monetary_value"])
    ref_gg = lifetimes.GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
    bg_m = BetaGeo().fit(m["frequency"], m["recency"], m["T"])
    ref_bg_m = lifetimes.BetaGeoFitter().fit(m["frequency"], m["recency"], m["T"])
    mine = clv(bg_m, gg, m["frequency"], m["recency"], m["T"], m["monetary_value"],
               months=12, discount_rate=0.01, periods_per_month=4.345)
    theirs = ref_gg.customer_lifetime_value(ref_bg_m, m["frequency"], m["recency"], m["T"],
                                            m["monetary_value"], time=12, discount_rate=0.01,
                                            freq="W")
    assert np.allclose(mine, theirs.to_numpy(), rtol=1e-3)


def test_summary_matches_lifetimes_definitions():
    from lifetimes.utils import summary_data_from_transaction_data

    tx = pd.read_csv(DATA / "example_transactions.csv", parse_dates=["date"])
    tx["value"] = np.arange(len(tx)) % 7 + 1.0
    mine = summary_from_transactions(tx, "id", "date", "value",
                                     observation_end="2014-12-31")
    ref = summary_data_from_transaction_data(tx, "id", "date", "value",
                                             observation_period_end="2014-12-31")
    assert np.allclose(mine.sort_index().to_numpy(),
                       ref.sort_index()[["frequency", "recency", "T", "monetary_value"]]
                       .to_numpy())


def test_same_day_purchases_count_once_and_later_ones_are_ignored():
    tx = pd.DataFrame({"c": [1, 1, 1, 1, 2], "at": pd.to_datetime([
        "2026-01-01 09:00", "2026-01-01 18:00", "2026-01-11 12:00", "2026-03-01 12:00",
        "2026-01-05 12:00"]),
        "v": [10.0, 5.0, 30.0, 99.0, 8.0]})
    s = summary_from_transactions(tx, "c", "at", "v", observation_end="2026-01-31")
    assert s.loc[1].to_dict() == {"frequency": 1, "recency": 10, "T": 30,
                                  "monetary_value": 30.0}
    assert s.loc[2].to_dict() == {"frequency": 0, "recency": 0, "T": 26,
                                  "monetary_value": 0.0}


def test_weights_equal_repeated_rows(cdnow):
    head = cdnow.head(300)
    doubled = pd.concat([head, head])
    a = BetaGeo().fit(doubled["frequency"], doubled["recency"], doubled["T"]).params_
    b = BetaGeo().fit(head["frequency"], head["recency"], head["T"],
                      weights=np.full(len(head), 2.0)).params_
    assert a == pytest.approx(b, rel=1e-4)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="recency 0"):
        BetaGeo().fit([0, 1], [3, 2], [10, 10])
    with pytest.raises(ValueError, match="recency <= T"):
        BetaGeo().fit([1], [12], [10])
    with pytest.raises(ValueError, match="repeat purchases"):
        GammaGamma().fit([0, 2], [10, 12])


@settings(max_examples=40, deadline=None)
@given(x=st.integers(0, 30), tx_share=st.floats(0, 1), T=st.floats(1, 500),
       horizon=st.floats(1, 400))
def test_predictions_are_probabilities_and_grow_with_the_horizon(x, tx_share, T, horizon):
    bg = BetaGeo(params_={"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426})
    tx = 0.0 if x == 0 else tx_share * T
    alive = bg.p_alive([x], [tx], [T])[0]
    assert 0.0 <= alive <= 1.0
    near = bg.expected_purchases(horizon, [x], [tx], [T])[0]
    far = bg.expected_purchases(horizon * 2, [x], [tx], [T])[0]
    assert 0.0 <= near <= far


def _cdnow_transactions() -> pd.DataFrame:
    tx = pd.read_csv(DATA / "CDNOW_master.txt", sep=r"\s+", header=0,
                     names=["id", "date", "cds", "value"], dtype={"date": str})
    tx["date"] = pd.to_datetime(tx["date"], format="%Y%m%d")
    return tx


def test_pareto_nbd_matches_lifetimes(cdnow):
    from guanxi.analytics.clv import ParetoNBD

    x, tx, t = cdnow["frequency"], cdnow["recency"], cdnow["T"]
    mine = ParetoNBD().fit(x, tx, t)
    ref = lifetimes.ParetoNBDFitter().fit(x, tx, t)
    assert mine.params_ == pytest.approx(ref.params_.to_dict(), rel=2e-3)
    assert np.allclose(mine.expected_purchases(39, x, tx, t),
                       ref.conditional_expected_number_of_purchases_up_to_time(39, x, tx, t),
                       rtol=5e-3, atol=1e-3)
    assert np.allclose(mine.p_alive(x, tx, t), ref.conditional_probability_alive(x, tx, t),
                       atol=2e-3)


def test_pareto_nbd_warm_start_lands_on_the_cold_fit(cdnow):
    """The nightly job starts from last night's parameters: from a start several percent
    off, the fit reaches the same optimum (same predictions) as a fit from scratch."""
    from guanxi.analytics.clv import ParetoNBD

    x, tx, t = cdnow["frequency"], cdnow["recency"], cdnow["T"]
    cold = ParetoNBD().fit(x, tx, t)
    assert cold.params_ is not None
    start = {k: v * f for (k, v), f in zip(cold.params_.items(), (1.1, 0.9, 1.15, 0.85),
                                           strict=True)}
    warm = ParetoNBD().fit(x, tx, t, start=start)
    assert warm.params_ == pytest.approx(cold.params_, rel=2e-2)
    assert np.allclose(warm.p_alive(x, tx, t), cold.p_alive(x, tx, t), atol=2e-3)
    assert np.allclose(warm.expected_purchases(39, x, tx, t),
                       cold.expected_purchases(39, x, tx, t), rtol=5e-3, atol=1e-3)


def test_default_forecast_beats_bg_nbd_on_the_cdnow_holdout():
    from lifetimes.utils import calibration_and_holdout_data

    from guanxi.analytics.clv import forecast

    tx = _cdnow_transactions()
    split = calibration_and_holdout_data(tx, "id", "date", calibration_period_end="1997-09-30",
                                         observation_period_end="1998-06-30", freq="D")
    actual = split["frequency_holdout"]
    results = {}
    for model in ("pareto", "bgnbd"):
        f = forecast(tx, customer_col="id", datetime_col="date", monetary_col="value",
                     observation_end="1997-09-30", horizon_days=273, model=model)
        predicted = f["expected_purchases"].reindex(actual.index)
        results[model] = ((predicted - actual).abs().mean(), predicted.sum() / actual.sum())
        assert f["p_alive"].between(0, 1).all() and (f["expected_value"] >= 0).all()
    assert results["bgnbd"][0] == pytest.approx(0.8187, abs=1e-3)  # the known baseline
    assert results["pareto"][0] < results["bgnbd"][0]
    assert abs(results["pareto"][1] - 1) < abs(results["bgnbd"][1] - 1)
