"""Lifecycle stage rules: pure functions."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guanxi.analytics.lifecycle import STAGES, LifecycleConfig, lifecycle_stages

NAN = math.nan


def _facts(rows):
    return pd.DataFrame(rows, columns=["days_since_first_seen", "days_since_last_purchase",
                                       "days_since_last_activity", "purchases_in_window",
                                       "spend_in_window"])


def test_each_rule():
    facts = _facts([
        (10, 10, 10, 1, 100),       # new
        (400, 20, 5, 6, 800),       # active
        (400, 100, 10, 3, 300),     # active: 3 purchase days in the window
        (200, NAN, 15, 0, 0),       # potential: registered, in touch, never bought
        (500, 200, 190, 1, 50),     # dormant
        (900, 400, 380, 0, 0),      # churned
        (700, 3, 3, 12, 50000),     # high value
        (300, NAN, NAN, 0, 0),      # dormant: never bought, nothing since sign-up
    ])
    stages = lifecycle_stages(facts, LifecycleConfig(high_value_share=0.2))
    assert list(stages) == ["new", "active", "active", "potential", "dormant", "churned",
                            "high_value", "dormant"]


def test_a_big_spender_who_went_quiet_is_dormant_not_high_value():
    # the share is of all buyers in the window, so the quiet spender still takes the top
    facts = _facts([(700, 250, 250, 1, 90000), (100, 5, 5, 1, 10)])
    assert list(lifecycle_stages(facts, LifecycleConfig(high_value_share=0.5))) == [
        "dormant", "active"]


def test_rules_are_configurable():
    facts = _facts([(45, 45, 45, 1, 10)])
    assert lifecycle_stages(facts, LifecycleConfig(high_value_share=0))[0] == "active"
    assert lifecycle_stages(facts, LifecycleConfig(new_days=60, high_value_share=0))[0] == "new"
    assert lifecycle_stages(facts, LifecycleConfig(
        active_days=30, high_value_share=0))[0] == "potential"


def test_bad_rules_are_refused():
    with pytest.raises(ValueError, match="dormant_days"):
        LifecycleConfig(dormant_days=400, churned_days=365)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2000), st.one_of(st.none(), st.integers(0, 2000)),
                          st.one_of(st.none(), st.integers(0, 2000)), st.integers(0, 40),
                          st.floats(0, 1e5)), min_size=1, max_size=40))
def test_every_customer_gets_one_known_stage_and_quiet_means_not_active(rows):
    facts = _facts([(a, NAN if b is None else b, NAN if c is None else c, d, e)
                    for a, b, c, d, e in rows])
    stages = lifecycle_stages(facts, LifecycleConfig())
    assert set(stages) <= set(STAGES)
    quiet = facts[["days_since_last_purchase", "days_since_last_activity"]].min(axis=1)
    quiet = quiet.fillna(facts["days_since_first_seen"])
    assert (stages[quiet >= 365] == "churned").all()
