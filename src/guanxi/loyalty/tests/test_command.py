"""`guanxi loyalty expire|review|backfill` runs the nightly jobs and the backfill on demand."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command

from guanxi.loyalty import services
from guanxi.loyalty.models import Lot, Member
from guanxi.testing import make_customer

pytestmark = pytest.mark.django_db


def test_the_command_expires_points_and_reviews_tiers(programme, personas):
    customer = make_customer(personas.admin)
    services.points_award(actor=None, customer=customer, points=40, reason="old")
    Lot.objects.update(expires_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    out = StringIO()
    call_command("loyalty", "expire", stdout=out)
    assert "40 points expired." in out.getvalue()
    assert Member.objects.get(customer=customer).balance == 0
    call_command("loyalty", "review", stdout=out)
    assert "0 up, 0 down, 0 into the grace period." in out.getvalue()


def test_the_command_backfills_points_for_past_orders(programme, personas):
    from decimal import Decimal

    from guanxi.customers.services import OrderLineInput, order_create

    customer = make_customer(personas.admin)
    order_create(actor=personas.admin, customer=customer,
                 lines=[OrderLineInput(sku="TEA", unit_price=Decimal("88.00"))])
    out = StringIO()
    call_command("loyalty", "backfill", stdout=out)
    assert "88 points for 1 orders of 1 members." in out.getvalue()
    call_command("loyalty", "backfill", stdout=out)
    assert "0 points for 0 orders of 0 members." in out.getvalue()
    assert Member.objects.get(customer=customer).balance == 88
