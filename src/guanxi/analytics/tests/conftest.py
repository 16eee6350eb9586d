"""Fixtures of the analytics tests."""

from __future__ import annotations

import datetime as dt
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from guanxi.testing import make_customer


@pytest.fixture
def simulated_shop(personas):
    """Load a simulated business (test_churn.simulate: two years of orders and events, with
    complaint-driven churn) into the database; returns the moment to score it as of."""
    from guanxi.customers.models import Event, Order

    sys.path.insert(0, str(Path(__file__).parent))
    from test_churn import START, simulate

    def load(customers: int):
        orders, events = simulate(customers=customers, seed=5)
        people = {c: make_customer(personas.manager, full_name=f"客户{c}")
                  for c in sorted(orders["customer_id"].unique())}
        Order.objects.bulk_create([Order(customer=people[c], total=Decimal(str(round(t, 2))),
                                         placed_at=at.tz_localize("UTC"))
                                   for c, at, t in orders.itertuples(index=False)])
        Event.objects.bulk_create([Event(customer=people[c], kind=k,
                                         occurred_at=at.tz_localize("UTC"), channel=ch)
                                   for c, k, at, ch in events.itertuples(index=False)
                                   if c in people])
        return (START + dt.timedelta(days=730)).tz_localize("UTC")

    return load
