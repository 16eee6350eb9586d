"""A hypothesis state machine over earn / redeem / reserve / commit / release / refund /
expire / adjust on one member, against a simple model of the balance. After every step:
every journal balances, the balance is the sum of the member's entries and is never
negative, the lots hold exactly the balance, reserved points match held reservations;
a redemption takes the lots that expire first; expiry run twice takes nothing more."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from guanxi.core.errors import DomainError
from guanxi.customers.services import OrderLineInput, order_create
from guanxi.loyalty import jobs, reservations, services
from guanxi.loyalty.models import Journal, Lot, LotUse, Member, Programme
from guanxi.loyalty.tests.test_points import assert_ledger
from guanxi.testing import make_customer

pytestmark = pytest.mark.django_db

_keys = itertools.count()


class Ledger(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        # each example in a savepoint of its own, undone at teardown (the expiry job
        # reads every member)
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        self.actor = MACHINE_ACTOR
        self.customer = make_customer(self.actor, full_name=f"会员{next(_keys)}")
        self.balance = 0      # the model: what the member can spend
        self.debt = 0
        self.held: dict[int, int] = {}
        self.orders: list[tuple[object, Decimal]] = []  # (order, refunded so far)
        self.offset = dt.timedelta(0)  # how far the machine's clock has moved

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    def key(self) -> str:
        return f"k{next(_keys)}"

    def member(self) -> Member:
        return Member.objects.get(customer=self.customer)

    def _credited(self, points: int) -> None:
        pay = min(self.debt, points)
        self.debt -= pay
        self.balance += points - pay

    @rule(amount=st.integers(1, 500), days=st.integers(1, 60))
    def earn(self, amount: int, days: int) -> None:
        Programme.objects.update(expiry_days=days)
        order = order_create(actor=self.actor, customer=self.customer,
                             lines=[OrderLineInput(sku="SKU", unit_price=Decimal(amount))])
        points = services.points_earn_order(order=order)
        assert points == amount  # 1 point per ¥1, tier ×1 (no higher tier set up)
        assert services.points_earn_order(order=order) == 0
        self._credited(points)
        self.orders.append((order, Decimal(0)))

    @rule(points=st.integers(1, 300))
    def redeem(self, points: int) -> None:
        try:
            services.points_redeem(actor=self.actor, customer=self.customer, points=points,
                                   idempotency_key=self.key())
        except DomainError as exc:
            assert exc.code == "insufficient_points" and points > self.balance
            return
        assert points <= self.balance
        self.balance -= points
        self._check_first_to_expire_taken()

    @rule(points=st.integers(1, 300))
    def reserve(self, points: int) -> None:
        try:
            out = reservations.reservation_create(actor=self.actor, customer=self.customer,
                                                  points=points, idempotency_key=self.key())
        except DomainError as exc:
            assert exc.code == "insufficient_points" and points > self.balance
            return
        self.balance -= points
        self.held[out["id"]] = points
        self._check_first_to_expire_taken()

    @precondition(lambda self: self.held)
    @rule(data=st.data(), commit=st.booleans())
    def close(self, data: st.DataObject, commit: bool) -> None:
        rid = data.draw(st.sampled_from(sorted(self.held)))
        call = reservations.reservation_commit if commit else reservations.reservation_release
        call(actor=self.actor, customer=self.customer, reservation_id=rid,
             idempotency_key=self.key())
        points = self.held.pop(rid)
        if not commit:
            self.balance += points

    @precondition(lambda self: self.orders)
    @rule(data=st.data(), share=st.integers(1, 100))
    def refund(self, data: st.DataObject, share: int) -> None:
        i = data.draw(st.integers(0, len(self.orders) - 1))
        order, refunded = self.orders[i]
        left = order.total - refunded
        if left <= 0:
            return
        amount = max((left * share / 100).quantize(Decimal("0.01")), Decimal("0.01"))
        due = services.points_reverse_order(actor=self.actor, order=order, refunded=amount)
        taken = min(due, self.balance)
        self.balance -= taken
        self.debt += due - taken
        self.orders[i] = (order, refunded + amount)

    @rule(points=st.integers(-300, 300).filter(bool))
    def adjust(self, points: int) -> None:
        try:
            out = services.points_adjust(actor=self.actor, customer=self.customer,
                                         points=points, reason="machine",
                                         idempotency_key=self.key())
        except DomainError as exc:
            assert exc.code == "insufficient_points" and -points > self.balance
            return
        assert out["pending"] is False
        if points > 0:
            self._credited(points)
        else:
            self.balance += points

    @rule(days=st.integers(1, 40))
    def expire(self, days: int) -> None:
        self.offset += dt.timedelta(days=days)
        now = timezone.now() + self.offset
        due = sum(Lot.objects.filter(member__customer=self.customer, expires_at__lte=now)
                  .values_list("remaining", flat=True))
        assert jobs.points_expire(now=now) == due
        assert jobs.points_expire(now=now) == 0  # safe to run twice
        self.balance -= due

    def _check_first_to_expire_taken(self) -> None:
        journal = Journal.objects.filter(member__customer=self.customer).latest("pk")
        used = LotUse.objects.filter(journal=journal)
        latest = used.aggregate(m=Max("lot__expires_at"))["m"]
        if latest is not None:
            earlier = Lot.objects.filter(member__customer=self.customer,
                                         expires_at__lt=latest, remaining__gt=0)
            assert not earlier.exists()

    @invariant()
    def ledger_holds(self) -> None:
        member = Member.objects.filter(customer=self.customer).first()
        if member is None:
            return
        assert_ledger(member)
        assert (member.balance, member.debt) == (self.balance, self.debt)
        assert member.reserved == sum(self.held.values())


MACHINE_ACTOR = None


def test_ledger_state_machine(personas):
    global MACHINE_ACTOR
    MACHINE_ACTOR = personas.admin
    Programme.objects.create(name="machine", points_per_unit=Decimal(1), approval_above=10**6)
    Ledger.TestCase.settings = settings(max_examples=25, stateful_step_count=25,
                                        deadline=None,
                                        suppress_health_check=list(HealthCheck))
    Ledger.TestCase().runTest()
