"""The planner's statistics: with them SQLite reads one customer's events of a kind
through the customer's timeline index, not through every event of that kind."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from guanxi.core.dbstats import statistics_refresh
from guanxi.customers.models import Customer, Event
from guanxi.timeline.services import NewEvent, events_append_many

pytestmark = pytest.mark.django_db


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's planner")
def test_a_customers_events_of_one_kind_use_the_timeline_index():
    customers = Customer.objects.bulk_create(Customer(display_name=f"c{i}") for i in range(300))
    at = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    events_append_many([NewEvent(customer_id=c.pk, kind="page_viewed",
                                 occurred_at=at + dt.timedelta(minutes=i))
                        for c in customers for i in range(3)])
    with connection.cursor() as cursor:  # no statistics yet (another test may have made some)
        cursor.execute("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'")
        if cursor.fetchone():
            cursor.execute("DELETE FROM sqlite_stat1")
            cursor.execute("ANALYZE sqlite_schema")  # the planner rereads the (empty) table
    query = (Event.objects.filter(customer_id=customers[7].pk, kind="page_viewed")
             .order_by("-occurred_at", "-pk")[:21])
    # Before: no statistics, and SQLite walks every page view (the kind-and-time index).
    assert "event_kind_time" in query.explain()
    statistics_refresh()
    assert "event_timeline" in query.explain()
