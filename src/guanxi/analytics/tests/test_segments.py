"""Segments: rules compile to one query, errors name the rule, membership keeps history."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from guanxi.analytics.models import SegmentMembership, SegmentSize
from guanxi.analytics.selectors import segment_count
from guanxi.analytics.services import scores_refresh, segment_refresh, segment_save
from guanxi.core.errors import InvalidInput
from guanxi.customers import services as cs
from guanxi.testing import bearer, make_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(personas):
    now = timezone.now()
    cs.product_upsert(actor=personas.manager, sku="LJ", name="龙井", price=Decimal("88"),
                      category="茶叶")
    tea = make_customer(personas.manager, full_name="王芳", region="杭州", tags=["VIP"])
    cs.order_create(actor=personas.manager, customer=tea, placed_at=now - dt.timedelta(days=5),
                    lines=[cs.OrderLineInput(sku="LJ", quantity=2)])
    quiet = make_customer(personas.manager, full_name="李娜", region="上海")
    cs.order_create(actor=personas.manager, customer=quiet,
                    placed_at=now - dt.timedelta(days=200),
                    lines=[cs.OrderLineInput(sku="LJ", quantity=1)])
    browsing = make_customer(personas.manager, full_name="张伟", region="杭州")
    scores_refresh(as_of=now)
    return tea, quiet, browsing


def test_rules_and_groups(personas, shop):
    count = lambda rules: segment_count(actor=personas.manager, rules=rules)  # noqa: E731
    assert count({"field": "region", "operator": "equals", "value": "杭州"}) == 2
    assert count({"field": "tag", "operator": "has", "value": "VIP"}) == 1
    assert count({"field": "bought_category", "operator": "within_days",
                  "value": {"category": "茶叶", "days": 30}}) == 1
    assert count({"field": "stage", "operator": "in", "value": ["dormant", "churned"]}) == 1
    assert count({"op": "or", "rules": [
        {"field": "tag", "operator": "has", "value": "VIP"},
        {"op": "and", "rules": [{"field": "region", "operator": "equals", "value": "上海"},
                                {"field": "m", "operator": "gte", "value": 1}]}]}) == 2


@pytest.mark.parametrize(("rules", "path"), [
    ({"op": "xor", "rules": []}, "rules.op"),
    ({"op": "and", "rules": [{"field": "shoe_size", "operator": "equals", "value": 1}]},
     "rules.rules.0.field"),
    ({"op": "and", "rules": [{"field": "r", "operator": "gte", "value": "high"}]},
     "rules.rules.0.value"),
    ({"field": "event", "operator": "within_days", "value": {"kind": "x", "days": 0}},
     "rules.value.days"),
])
def test_bad_rules_name_the_rule(personas, rules, path):
    with pytest.raises(InvalidInput) as exc:
        segment_count(actor=personas.manager, rules=rules)
    assert exc.value.errors[0].field == path


def test_membership_history_and_sizes(personas, shop):
    _tea, quiet, browsing = shop
    segment = segment_save(actor=personas.manager, name="杭州客户",
                           rules={"field": "region", "operator": "equals", "value": "杭州"})
    assert segment.member_count == 2
    cs.customer_update(actor=personas.manager, customer=browsing, region="北京")
    cs.customer_update(actor=personas.manager, customer=quiet, region="杭州")
    size = segment_refresh(segment=segment)
    assert (size.members, size.joined, size.left) == (2, 1, 1)
    closed = SegmentMembership.objects.get(segment=segment, customer=browsing)
    assert closed.left_at is not None
    assert list(SegmentSize.objects.filter(segment=segment).values_list("members", flat=True)
                ) == [2, 2]


def test_segments_through_the_api(client, personas, shop):
    tea = shop[0]
    auth = bearer(personas.marketing)
    rules = {"field": "tag", "operator": "has", "value": "VIP"}
    r = client.post("/api/v1/segments/count", {"rules": rules},
                    content_type="application/json", headers=auth)
    assert r.json() == {"count": 1}
    r = client.post("/api/v1/segments", {"name": "VIP", "rules": rules},
                    content_type="application/json", headers=auth)
    assert r.status_code == 201
    members = client.get(f"/api/v1/segments/{r.json()['id']}/members", headers=auth).json()
    assert members == [tea.pk]
    bad = client.post("/api/v1/segments/count", {"rules": {"field": "nope"}},
                      content_type="application/json", headers=auth)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "rules.field"
