"""Customer-lifetime-value benchmark (issue 4), against the `lifetimes` package in the same
run:

  cdnow_params     BG/NBD and Gamma-Gamma on lifetimes' CDNOW summaries, against the
                   published r=0.243 alpha=4.414 a=0.793 b=2.426 / p=6.25 q=3.74 v=15.44
  cdnow_holdout    CDNOW_master, calibration to 1997-09-30, holdout to 1998-06-30 (days),
                   and a second split (to 1997-06-30, holdout to 1998-03-31): mean absolute
                   error per customer and total predicted vs actual repeat purchase days,
                   for Guanxi's default forecast (Pareto/NBD), Guanxi's BG/NBD and
                   lifetimes' BG/NBD
  fit_1m           fitting BG/NBD to 1,000,000 simulated customers: Guanxi vs lifetimes
                   (median of --runs; lifetimes once, it is slow)

    python bench/clv.py [--customers 1000000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

import lifetimes
from lifetimes.utils import calibration_and_holdout_data

from guanxi.analytics.clv import BetaGeo, GammaGamma, forecast

DATA = Path(lifetimes.__file__).parent / "datasets"
PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426,
             "p": 6.25, "q": 3.74, "v": 15.44}


def emit(name: str, value: float, unit: str, **extra: object) -> None:
    print(json.dumps({"name": name, "value": round(float(value), 4), "unit": unit, **extra}),
          flush=True)


def cdnow_params() -> None:
    summary = pd.read_csv(DATA / "cdnow_customers_summary.csv", index_col=0)
    bg = BetaGeo().fit(summary["frequency"], summary["recency"], summary["T"])
    money = pd.read_csv(DATA / "cdnow_customers_summary_with_transactions.csv", index_col=0)
    money.columns = ["frequency", "recency", "T", "monetary_value"]
    repeat = money[money["frequency"] > 0]
    gg = GammaGamma().fit(repeat["frequency"], repeat["monetary_value"])
    assert bg.params_ is not None and gg.params_ is not None
    for name, value in {**bg.params_, **gg.params_}.items():
        emit(f"cdnow_{name}", value, "param", published=PUBLISHED[name],
             matches_3_significant=f"{value:.3g}" == f"{PUBLISHED[name]:.3g}")


def cdnow_transactions() -> pd.DataFrame:
    tx = pd.read_csv(DATA / "CDNOW_master.txt", sep=r"\s+", header=0,
                     names=["id", "date", "cds", "value"], dtype={"date": str})
    tx["date"] = pd.to_datetime(tx["date"], format="%Y%m%d")
    return tx


def cdnow_holdout(calibration_end: str = "1997-09-30", holdout_end: str = "1998-06-30"
                  ) -> None:
    """Guanxi's default forecast and BG/NBD (Guanxi's and lifetimes') on one split."""
    tx = cdnow_transactions()
    split = calibration_and_holdout_data(tx, "id", "date", calibration_period_end=calibration_end,
                                         observation_period_end=holdout_end, freq="D")
    horizon = (pd.Timestamp(holdout_end) - pd.Timestamp(calibration_end)).days
    x, tx_, t = split["frequency_cal"], split["recency_cal"], split["T_cal"]
    actual = split["frequency_holdout"].to_numpy()
    default = forecast(tx, customer_col="id", datetime_col="date", monetary_col="value",
                       observation_end=calibration_end, horizon_days=horizon)
    ours = BetaGeo().fit(x, tx_, t).expected_purchases(horizon, x, tx_, t)
    ref = lifetimes.BetaGeoFitter().fit(x, tx_, t)
    theirs = ref.conditional_expected_number_of_purchases_up_to_time(horizon, x, tx_, t)
    split_name = f"{calibration_end}..{holdout_end}"
    for tool, predicted in (
            ("guanxi_forecast", default["expected_purchases"].reindex(split.index).to_numpy()),
            ("guanxi_bgnbd", ours), ("lifetimes_bgnbd", np.asarray(theirs))):
        emit(f"holdout_mae_{tool}", np.abs(predicted - actual).mean(), "purchases/customer",
             customers=len(actual), split=split_name)
        emit(f"holdout_total_error_{tool}", predicted.sum() / actual.sum() - 1, "ratio",
             predicted=round(float(predicted.sum()), 1), actual=int(actual.sum()),
             split=split_name)


def simulate(customers: int, seed: int = 7) -> pd.DataFrame:
    """Customers drawn from the BG/NBD process itself (CDNOW-like parameters, days)."""
    rng = np.random.default_rng(seed)
    r, alpha, a, b = 0.25, 30.0, 0.8, 2.5
    rate = rng.gamma(r, 1 / alpha, customers)
    drop = rng.beta(a, b, customers)
    T = rng.uniform(30, 720, customers).round()
    now = np.zeros(customers)
    last = np.zeros(customers)
    count = np.zeros(customers)
    active = np.ones(customers, dtype=bool)
    while active.any():
        gap = rng.exponential(1 / np.maximum(rate[active], 1e-12))
        step = now[active] + gap
        bought = step <= T[active]
        idx = np.flatnonzero(active)
        now[idx] = step
        last[idx[bought]] = np.floor(step[bought])
        count[idx[bought]] += 1
        stays = bought & (rng.random(len(idx)) >= drop[active])
        active[idx[~stays]] = False
    return pd.DataFrame({"frequency": count, "recency": last, "T": T})


def fit_1m(customers: int, runs: int) -> None:
    data = simulate(customers)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        BetaGeo().fit(data["frequency"], data["recency"], data["T"])
        times.append(time.perf_counter() - started)
    ours = statistics.median(times)
    started = time.perf_counter()
    lifetimes.BetaGeoFitter().fit(data["frequency"], data["recency"], data["T"])
    theirs = time.perf_counter() - started
    emit("fit_bgnbd_guanxi", ours, "s", customers=customers, runs=runs)
    emit("fit_bgnbd_lifetimes", theirs, "s", customers=customers, runs=1)
    emit("fit_bgnbd_speedup", theirs / ours, "x", target=">= 10")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    cdnow_params()
    cdnow_holdout()  # the split the issue names
    cdnow_holdout("1997-06-30", "1998-03-31")  # another split: does it generalise?
    fit_1m(args.customers, args.runs)


if __name__ == "__main__":
    main()
