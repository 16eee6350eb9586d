"""Merge rules: every table with rows of a customer says how they follow a merge and its
undo; scored and segmented customers merge and unmerge; concurrent merges of one pair."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from django.utils import timezone

from guanxi.analytics.models import CustomerScore, SegmentMembership
from guanxi.analytics.services import scores_refresh, segment_save
from guanxi.core.errors import Conflict
from guanxi.customers import merging
from guanxi.customers import services as cs
from guanxi.customers.models import Customer, Order
from guanxi.dataquality.models import Merge
from guanxi.dataquality.services import customers_merge, merge_undo
from guanxi.testing import bearer, make_customer

pytestmark = pytest.mark.django_db


def _buy(actor, customer, days_ago, amount="100.00"):
    cs.order_create(actor=actor, customer=customer,
                    placed_at=timezone.now() - dt.timedelta(days=days_ago),
                    lines=[cs.OrderLineInput(sku="X", quantity=1, unit_price=Decimal(amount),
                                             name="tea")])


def test_every_foreign_key_to_customer_has_a_merge_rule():
    # given every model of every installed app with a foreign key to Customer
    labels = {f"{fk.model._meta.label}.{fk.name}" for fk in merging.customer_foreign_keys()}
    # when the rules are collected, then none is missing
    rules = merging.merge_rules()
    assert {r.label for r in rules} == labels
    assert "analytics.CustomerScore.customer" in labels  # the table that broke the demo
    # foreign keys without a reverse accessor (related_name="+") are rows of the customer
    # too: they were skipped, and the absorbed customer's messages, campaign recipients,
    # lottery tickets and event registrations went with the absorbed row
    assert {"engagement.Message.customer", "engagement.CampaignRecipient.customer",
            "loyalty.Ticket.customer", "loyalty.Registration.customer"} <= labels


def test_a_table_without_a_rule_stops_the_merge_before_anything_is_written(personas,
                                                                          monkeypatch):
    # given a foreign key whose app registered no rule
    a = make_customer(personas.manager, full_name="张伟")
    b = make_customer(personas.manager, full_name="張偉")
    rules = dict(merging._RULES)
    del rules["customers.Order.customer"]
    monkeypatch.setattr(merging, "_RULES", rules)
    # when
    with pytest.raises(ImproperlyConfigured, match=r"customers\.Order\.customer"):
        customers_merge(actor=personas.manager, survivor=a, absorbed=b)
    # then
    assert Customer.objects.filter(pk__in=[a.pk, b.pk]).count() == 2
    assert not Merge.objects.exists()


def test_scored_and_segmented_customers_merge_and_unmerge(personas, huey_immediate,
                                                         django_capture_on_commit_callbacks):
    # given three scored customers, all in a segment
    m = personas.manager
    a = make_customer(m, full_name="王芳")
    b = make_customer(m, full_name="王 芳")
    c = make_customer(m, full_name="李娜")
    for days in (5, 40, 80):
        _buy(m, a, days, "300.00")
    _buy(m, b, 20, "50.00")
    _buy(m, c, 250, "10.00")
    scores_refresh()
    segment = segment_save(actor=m, name="Everyone", rules={
        "op": "and", "rules": [{"field": "frequency", "operator": "gte", "value": 0}]})
    assert CustomerScore.objects.filter(customer__in=[a, b]).count() == 2
    assert SegmentMembership.objects.filter(segment=segment, left_at=None).count() == 3
    score_b = CustomerScore.objects.get(customer=b)
    # when merged (this raised IntegrityError on analytics_customerscore before)
    with django_capture_on_commit_callbacks(execute=True):
        merge = customers_merge(actor=m, survivor=a, absorbed=b)
    # then the kept customer has one score, recomputed over both customers' orders
    assert not Customer.objects.filter(pk=b.pk).exists()
    assert Order.objects.filter(customer=a).count() == 4
    score_a = CustomerScore.objects.get(customer=a)
    assert score_a.frequency == 4
    assert SegmentMembership.objects.filter(segment=segment, customer=a,
                                            left_at=None).count() == 1
    # when undone
    with django_capture_on_commit_callbacks(execute=True):
        merge_undo(actor=m, merge=merge)
    # then both have their own score and membership back
    assert CustomerScore.objects.get(customer=b).frequency == score_b.frequency == 1
    assert CustomerScore.objects.get(customer=a).frequency == 3
    assert SegmentMembership.objects.filter(segment=segment, left_at=None).count() == 3


@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_merges_of_one_pair_give_one_merge_and_nine_conflicts(personas):
    # given
    a = make_customer(personas.manager, full_name="张伟", phones=["13800138000"])
    b = make_customer(personas.manager, full_name="張偉", phones=["13800138001"])
    results: list[object] = []
    start = threading.Barrier(10)

    def merge() -> None:
        start.wait()
        try:
            results.append(customers_merge(actor=personas.manager, survivor=a, absorbed=b))
        except Conflict as exc:
            results.append(exc)
        except Exception as exc:  # anything else is the defect
            results.append(exc)
        finally:
            connections.close_all()

    # when
    threads = [threading.Thread(target=merge) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # then
    merges = [r for r in results if isinstance(r, Merge)]
    conflicts = [r for r in results if isinstance(r, Conflict)]
    assert len(merges) == 1 and len(conflicts) == 9, results
    assert Merge.objects.count() == 1


def test_a_merge_of_a_customer_merged_away_is_409_in_the_api(client, personas):
    a = make_customer(personas.manager, full_name="张伟")
    b = make_customer(personas.manager, full_name="張偉")
    headers = bearer(personas.manager)
    first = client.post(f"/api/v1/customers/{a.pk}/merge", {"other_id": b.pk},
                        content_type="application/json", headers=headers)
    assert first.status_code == 201
    # the stale copy of b a second request holds
    with pytest.raises(Conflict):
        customers_merge(actor=personas.manager, survivor=a, absorbed=b)
    again = client.post(f"/api/v1/customers/{a.pk}/merge", {"other_id": b.pk},
                        content_type="application/json", headers=headers)
    assert again.status_code in (404, 409)
    assert again["Content-Type"].startswith("application/problem+json")
