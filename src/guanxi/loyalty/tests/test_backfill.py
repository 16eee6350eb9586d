"""The set-based backfill gives every paid order exactly what awarding the orders one by
one (points_earn_order, in time order) gives: the same points per order, journals, lots
with their expiry, balances, debts paid off and tiers — over random shops with earn rules,
campaign periods, tier multipliers, caps, refunds and debts; and a second run changes
nothing."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from guanxi.customers.models import Order, OrderStatus
from guanxi.customers.services import OrderLineInput, order_create, product_upsert
from guanxi.loyalty import services
from guanxi.loyalty.backfill import points_backfill
from guanxi.loyalty.models import EarnRule, Entry, Journal, Lot, Member, OrderPoints, Programme
from guanxi.testing import make_customer
from guanxi.timeline.store import event_model

pytestmark = pytest.mark.django_db

SKUS = [("TEA-A", "茶叶", "268.00"), ("TEA-B", "茶叶", "99.90"), ("CUP", "茶具", "45.50"),
        ("GIFT", "", "12.34")]


def _shop(personas, seed: int, *, spend: bool, caps: bool) -> None:
    rng = random.Random(seed)
    now = timezone.now()
    Programme.objects.filter(pk=Programme.objects.get().pk).update(
        qualify_on="spend" if spend else "points", cap_per_order=600 if caps else 0,
        cap_per_day=900 if caps else 0, expiry_days=rng.choice([0, 365, 730]))
    for sku, category, price in SKUS:
        product_upsert(actor=personas.admin, sku=sku, name=sku, category=category,
                       price=Decimal(price))
    EarnRule.objects.create(name="茶叶", kind="category", match="茶叶", multiplier=2)
    EarnRule.objects.create(name="B", kind="product", match="TEA-B", multiplier=Decimal("1.5"),
                            starts_at=now - dt.timedelta(days=200),
                            ends_at=now - dt.timedelta(days=100))
    EarnRule.objects.create(name="双倍", kind="campaign", match="", multiplier=2,
                            starts_at=now - dt.timedelta(days=60),
                            ends_at=now - dt.timedelta(days=30))
    customers = [make_customer(personas.admin, full_name=f"客{i}") for i in range(6)]
    # one member with a debt: points earned, spent, then the order refunded
    indebted = customers[0]
    first = order_create(actor=personas.admin, customer=indebted,
                         placed_at=now - dt.timedelta(days=500),
                         lines=[OrderLineInput(sku="CUP", quantity=2)])
    services.points_earn_order(order=first)
    services.points_redeem(actor=personas.manager, customer=indebted,
                           points=Member.objects.get(customer=indebted).balance,
                           idempotency_key="spend")
    services.points_reverse_order(actor=personas.manager, order=first)
    assert Member.objects.get(customer=indebted).debt > 0
    for customer in customers:
        for _ in range(rng.randint(0, 9)):
            lines = [OrderLineInput(sku=rng.choice(SKUS)[0], quantity=rng.randint(1, 6))
                     for _ in range(rng.randint(1, 3))]
            placed = now - dt.timedelta(days=rng.randint(0, 900), minutes=rng.randint(0, 999))
            order_create(actor=personas.admin, customer=customer, lines=lines,
                         placed_at=placed, status=rng.choice(
                             [OrderStatus.PAID] * 5 + [OrderStatus.CANCELLED]))


def _state() -> dict:
    journals = sorted(Journal.objects.values_list("member__customer_id", "kind", "points",
                                                  "order_id", "created_at"))
    return {
        "orders": dict(OrderPoints.objects.values_list("order_id", "points")),
        "members": sorted(Member.objects.values_list("customer_id", "balance", "debt",
                                                     "tier_id", "downgrade_after")),
        "journals": journals,
        "lots": sorted(Lot.objects.values_list("member__customer_id", "points", "remaining",
                                               "expires_at", "created_at")),
        "entries": sorted(Entry.objects.values("account", "member__customer_id")
                          .annotate(s=Sum("points"))
                          .values_list("account", "member__customer_id", "s")),
    }


@pytest.mark.parametrize(("seed", "spend", "caps"), [(1, False, False), (2, False, True),
                                                     (3, True, False), (4, True, True),
                                                     (5, False, False)])
def test_backfill_equals_awarding_each_order(programme, personas, seed, spend, caps):
    _shop(personas, seed, spend=spend, caps=caps)
    with transaction.atomic():
        point = transaction.savepoint()
        counts = points_backfill(chunk=2)  # several chunks
        backfilled = _state()
        # a second run finds nothing to do
        assert points_backfill()["orders"] == 0
        assert _state() == backfilled
        transaction.savepoint_rollback(point)
    for order in Order.objects.filter(status=OrderStatus.PAID).order_by("placed_at", "pk"):
        services.points_earn_order(order=order)
    one_by_one = _state()
    assert backfilled == one_by_one
    assert counts["orders"] == len(one_by_one["orders"]) - 1  # the refunded first order
    assert counts["points"] == sum(one_by_one["orders"].values()) - sum(
        p for o, p in one_by_one["orders"].items() if o == min(one_by_one["orders"]))


def test_backfill_writes_one_timeline_event_per_member_and_one_audit_entry(programme,
                                                                           personas):
    from guanxi.audit.models import AuditEntry

    customer = make_customer(personas.admin, full_name="林晓")
    product_upsert(actor=personas.admin, sku="TEA", name="茶", category="茶叶",
                   price=Decimal("3000.00"))
    for days in (30, 20, 10):
        order_create(actor=personas.admin, customer=customer,
                     placed_at=timezone.now() - dt.timedelta(days=days),
                     lines=[OrderLineInput(sku="TEA")])
    done: list[tuple[int, int]] = []
    counts = points_backfill(progress=lambda n, total: done.append((n, total)))
    assert counts == {"orders": 3, "points": 3000 + 3600 + 4500, "members": 1}
    assert done and done[-1][0] == done[-1][1]
    member = Member.objects.get(customer=customer)
    assert member.tier.name == "金卡" and member.balance == 11100
    events = list(event_model().objects.filter(customer_id=customer.pk, kind__in=(
        "points_earned", "member_tier_changed")).values_list("kind", "data"))
    assert sorted(k for k, _d in events) == ["member_tier_changed", "points_earned"]
    assert dict(events)["member_tier_changed"]["previous"] == "普通"
    assert AuditEntry.objects.filter(action="loyalty.backfill").count() == 1
