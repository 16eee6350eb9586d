"""The demo's loyalty programme loads once and gives the demo's orders their points."""

from __future__ import annotations

from decimal import Decimal

import pytest

from guanxi.automation.models import Automation
from guanxi.customers.services import OrderLineInput, order_create, product_upsert
from guanxi.loyalty.demo import demo_loyalty
from guanxi.loyalty.models import Member, Tier
from guanxi.testing import make_customer

pytestmark = pytest.mark.django_db


def test_the_demo_programme_loads_once_with_points_for_past_orders(personas):
    product_upsert(actor=personas.admin, sku="TEA-LJ-250", name="西湖龙井", category="茶叶",
                   price=Decimal("268.00"))
    customer = make_customer(personas.admin)
    order_create(actor=personas.admin, customer=customer,
                 lines=[OrderLineInput(sku="TEA-LJ-250")])
    made = demo_loyalty(actor=personas.admin)
    # tea earns double: 536 points
    assert made == {"members": 1, "points": 536, "automations": 1}
    assert list(Tier.objects.values_list("name", flat=True)) == ["普通", "银卡", "金卡",
                                                                  "白金", "钻石"]
    assert Member.objects.get(customer=customer).balance == 536
    assert Automation.objects.get(name="Birthday coupon and points").status == "active"
    from guanxi.loyalty.models import Registration

    assert Registration.objects.filter(customer=customer, state="registered").exists()
    assert demo_loyalty(actor=personas.admin) == {"members": 0, "points": 0,
                                                  "automations": 0}
