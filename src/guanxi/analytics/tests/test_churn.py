"""The churn model on simulated customers whose complaints make them leave: it must beat
1 - P(alive), give calibrated probabilities, and name complaints as the reason."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from guanxi.analytics.churn import churn_features, churn_labels, churn_train

START = pd.Timestamp("2024-01-01")


def simulate(customers: int = 3000, seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    orders, events = [], []
    for c in range(customers):
        born = rng.uniform(0, 300)
        rate = rng.gamma(2.0, 1 / 60)  # about one purchase a month on average
        death = born + rng.exponential(500)
        if rng.random() < 0.3:  # a complaint, and most who complain leave soon after
            at = rng.uniform(born, 730)
            events.append((c, "complaint", START + pd.Timedelta(days=at), "phone"))
            if rng.random() < 0.8:
                death = min(death, at + rng.uniform(0, 30))
        t = born
        while True:
            t += rng.exponential(1 / rate)
            if t > min(death, 730):
                break
            orders.append((c, START + pd.Timedelta(days=t), float(rng.gamma(2, 50))))
            if rng.random() < 0.3:
                events.append((c, "page_viewed", START + pd.Timedelta(days=t - 1), "web"))
    o = pd.DataFrame(orders, columns=["customer_id", "placed_at", "total"])
    e = pd.DataFrame(events, columns=["customer_id", "kind", "occurred_at", "channel"])
    return o, e


@pytest.fixture(scope="module")
def history():
    return simulate()


def test_features_use_only_the_past(history):
    orders, events = history
    cutoff = START + pd.Timedelta(days=400)
    features = churn_features(orders, events, cutoff)
    first = orders.groupby("customer_id")["placed_at"].min()
    assert set(features.index) == set(first[first <= cutoff].index)
    assert (features["recency_days"] >= 0).all()
    assert (features["tenure_days"] >= features["recency_days"]).all()


def test_labels():
    orders = pd.DataFrame({"customer_id": [1, 2], "placed_at": [
        START + pd.Timedelta(days=10), START + pd.Timedelta(days=200)], "total": [1.0, 1.0]})
    labels = churn_labels(orders, pd.Index([1, 2]), START, 90)
    assert labels.to_dict() == {1: 0, 2: 1}


def test_model_beats_p_alive_and_explains_itself(history):
    orders, events = history
    model = churn_train(orders, events, as_of=START + pd.Timedelta(days=730),
                        horizon_days=90)
    assert model.auc > model.baseline_auc + 0.02
    assert model.auc > 0.75
    assert model.brier < 0.2
    cutoff = START + pd.Timedelta(days=730)
    features = churn_features(orders, events, cutoff)
    risk = model.predict(features)
    assert ((risk >= 0) & (risk <= 1)).all()
    complained = features["complaints_180"] > 0
    assert risk[complained.to_numpy()].mean() > risk[~complained.to_numpy()].mean()
    reasons = model.reasons(features[complained].head(20))
    assert sum(any(name == "complaints_180" for name, _w in r) for r in reasons) >= 10


def test_too_little_history_is_a_clear_error():
    orders, events = simulate(customers=30)
    with pytest.raises(ValueError, match="too little history"):
        churn_train(orders, events, as_of=START + pd.Timedelta(days=730))
