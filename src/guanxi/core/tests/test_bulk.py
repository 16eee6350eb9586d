"""Bulk writes: the frame upsert (binary COPY on PostgreSQL, executemany on SQLite) keeps
every value, NULLs and non-ASCII text included, and updates existing rows."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from django.db import transaction
from django.utils import timezone

from guanxi.analytics.models import CustomerScore
from guanxi.core.frames import upsert_frame
from guanxi.testing import make_customer

pytestmark = pytest.mark.django_db


def _frame(ids, when, **overrides):
    frame = pd.DataFrame({
        "customer_id": np.array(ids, dtype=np.int64), "scored_at": str(when),
        "recency_days": [1.25, np.nan, 300.0], "frequency": np.array([3, 0, 1], np.int64),
        "monetary": [1234.56, 0.0, 9.99],
        "r": pd.array([5, None, 1], dtype="Int64"), "f": pd.array([4, None, 1], dtype="Int64"),
        "m": pd.array([5, None, 2], dtype="Int64"),
        "tier": ["important_value", "no_purchases", "low_value"],
        "cell": ["important_value", "", "general_retain"],
        "stage": ["high_value", "new", "dormant"],
        "expected_purchases": [0.812345, np.nan, 0.01],
        "p_alive": [0.93, np.nan, 0.2], "clv": [456.78, np.nan, 1.5],
        "churn_risk": [0.1234, np.nan, 0.9],
        "churn_reasons": [json.dumps([["recency_days", -0.5]]), "[]",
                          json.dumps([["投诉", 1.25]], ensure_ascii=False)],
    })
    for name, values in overrides.items():
        frame[name] = values
    return frame


def test_frame_upsert_keeps_every_value_and_updates_existing_rows(personas):
    ids = [make_customer(personas.manager, full_name=f"客户{i}").pk for i in range(3)]
    when = timezone.now().replace(microsecond=0)
    with transaction.atomic():
        assert upsert_frame("analytics_customerscore", _frame(ids, when),
                            conflict=("customer_id",)) == 3
    first, second, third = (CustomerScore.objects.get(pk=i) for i in ids)
    assert first.scored_at == when and first.recency_days == 1.25 and first.frequency == 3
    assert float(first.monetary) == 1234.56 and (first.r, first.f, first.m) == (5, 4, 5)
    assert first.tier == "important_value" and first.stage == "high_value"
    assert first.expected_purchases == pytest.approx(0.812345) and float(first.clv) == 456.78
    assert first.churn_reasons == [["recency_days", -0.5]]
    assert second.recency_days is None and second.r is None and second.clv is None
    assert second.p_alive is None and second.churn_risk is None and second.cell == ""
    assert third.churn_reasons == [["投诉", 1.25]] and third.cell == "general_retain"
    # again, changed: rows are updated in place
    with transaction.atomic():
        upsert_frame("analytics_customerscore",
                     _frame(ids, when, stage=["dormant", "active", "churned"]),
                     conflict=("customer_id",))
    assert CustomerScore.objects.count() == 3
    assert [CustomerScore.objects.get(pk=i).stage for i in ids] == ["dormant", "active",
                                                                     "churned"]
