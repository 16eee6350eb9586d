"""Consumers read the timeline through durable cursors: every event once, in order, none
skipped when transactions commit out of id order (PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from guanxi.customers.models import Customer
from guanxi.timeline.cursors import consume, cursor_open, pending
from guanxi.timeline.models import ConsumerCursor
from guanxi.timeline.services import event_append


def _append(customer_id: int, n: int, key: str = "") -> list[int]:
    return [event_append(customer_id=customer_id, kind="page_viewed",
                         data={"url": f"/{key}{i}"}).pk for i in range(n)]


@pytest.mark.django_db(transaction=True)  # a consumer reads what has committed
def test_each_event_is_handed_over_once_in_order():
    customer = Customer.objects.create(display_name="A")
    cursor_open("kpi")  # starts after what exists
    ids = _append(customer.pk, 7)
    assert pending("kpi") == 7 and pending("kpi", cap=5) == 5
    seen: list[int] = []
    assert consume("kpi", lambda evs: seen.extend(e.pk for e in evs), limit=3) == 3
    assert consume("kpi", lambda evs: seen.extend(e.pk for e in evs), limit=3) == 3
    assert pending("kpi") == 1
    assert consume("kpi", lambda evs: seen.extend(e.pk for e in evs), limit=3) == 1
    assert consume("kpi", lambda evs: seen.extend(e.pk for e in evs)) == 0
    assert seen == ids
    assert ConsumerCursor.objects.get(name="kpi").events_read == 7


@pytest.mark.django_db(transaction=True)  # a consumer reads what has committed
def test_a_failing_handler_leaves_the_cursor_where_it_was():
    customer = Customer.objects.create(display_name="A")
    cursor_open("hooks")
    _append(customer.pk, 2)

    def boom(events):
        raise RuntimeError("receiver down")

    with pytest.raises(RuntimeError):
        consume("hooks", boom)
    assert pending("hooks") == 2
    got: list[int] = []
    assert consume("hooks", lambda evs: got.extend(e.pk for e in evs)) == 2


@pytest.mark.django_db(transaction=True)  # a consumer reads what has committed
def test_a_new_cursor_can_start_from_the_first_event():
    customer = Customer.objects.create(display_name="A")
    ids = _append(customer.pk, 3)
    cursor_open("replay", from_start=True)
    got: list[int] = []
    consume("replay", lambda evs: got.extend(e.pk for e in evs))
    assert got[-3:] == ids


@pytest.mark.django_db(transaction=True)
def test_an_event_committed_late_is_not_skipped():
    """Transaction A takes an id first and commits last; B commits in between. The
    consumer must not move past A's event while A is open."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time: ids commit in order")
    customer = Customer.objects.create(display_name="A", created_at=timezone.now())
    cursor_open("automation")
    a_inserted, release_a = threading.Event(), threading.Event()
    result: dict[str, int] = {}

    def writer_a() -> None:
        try:
            with transaction.atomic():
                result["a"] = _append(customer.pk, 1, "a")[0]
                a_inserted.set()
                release_a.wait(10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=writer_a)
    thread.start()
    assert a_inserted.wait(10)
    b = _append(customer.pk, 1, "b")[0]  # autocommit: committed now, with a higher id
    assert b > result["a"]
    seen: list[int] = []
    consume("automation", lambda evs: seen.extend(e.pk for e in evs))
    assert seen == []  # B waits behind the open transaction rather than passing A
    release_a.set()
    thread.join(10)
    consume("automation", lambda evs: seen.extend(e.pk for e in evs))
    assert sorted(seen) == sorted([result["a"], b])
