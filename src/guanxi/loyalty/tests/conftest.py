from __future__ import annotations

from decimal import Decimal

import pytest

from guanxi.loyalty.models import Programme, Tier


@pytest.fixture
def programme(db):
    """普通 / 银卡 / 金卡 on points earned in 12 months; 1 point per ¥1; 2 years' expiry."""
    prog = Programme.objects.create(name="会员计划", points_per_unit=Decimal(1),
                                    expiry_days=730, approval_above=1000,
                                    action_points={"review": 20, "sign_in": 5})
    Tier.objects.create(name="普通", threshold=0, multiplier=1)
    Tier.objects.create(name="银卡", threshold=1000, multiplier=Decimal("1.2"))
    Tier.objects.create(name="金卡", threshold=5000, multiplier=Decimal("1.5"))
    return prog
