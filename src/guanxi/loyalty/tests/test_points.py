"""Earning, spending, adjusting, reservations, refunds, expiry and tiers through the
services, with the ledger's invariants checked after each."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.db.models import Sum
from django.utils import timezone

from guanxi.core.errors import Conflict, DomainError, InvalidInput
from guanxi.customers.services import OrderLineInput, order_create, order_set_status
from guanxi.loyalty import jobs, reservations, services
from guanxi.loyalty.models import (
    Account,
    Entry,
    Journal,
    Lot,
    Member,
    PendingAdjustment,
    Reservation,
    Tier,
)
from guanxi.testing import make_customer
from guanxi.timeline.store import event_model

pytestmark = pytest.mark.django_db


def assert_ledger(member: Member) -> None:
    """The invariants: every journal balances; the balances are the sums of entries;
    the lots hold the balance; nothing negative."""
    member.refresh_from_db()
    unbalanced = (Entry.objects.values("journal").annotate(s=Sum("points"))
                  .exclude(s=0))
    assert not unbalanced.exists()

    def total(account: str) -> int:
        return int(Entry.objects.filter(member=member, account=account)
                   .aggregate(s=Sum("points"))["s"] or 0)

    assert member.balance == total(Account.MEMBER) >= 0
    assert member.reserved == total(Account.RESERVED) == int(
        Reservation.objects.filter(member=member, state="held")
        .aggregate(s=Sum("points"))["s"] or 0)
    assert member.debt == -total(Account.DEBT) >= 0
    lots = int(Lot.objects.filter(member=member).aggregate(s=Sum("remaining"))["s"] or 0)
    assert lots == member.balance


def _order(actor, customer, amount="100.00", sku="TEA-1", **kw):
    return order_create(actor=actor, customer=customer,
                        lines=[OrderLineInput(sku=sku, unit_price=Decimal(amount))], **kw)


def _member(customer) -> Member:
    return Member.objects.get(customer=customer)


def test_a_paid_order_earns_once_whatever_calls_it(programme, personas):
    customer = make_customer(personas.admin)
    order = _order(personas.admin, customer, "258.90")
    assert services.points_earn_order(order=order) == 258
    assert services.points_earn_order(order=order) == 0  # a retry, a second reader
    member = _member(customer)
    assert member.balance == 258
    lot = Lot.objects.get(member=member)
    assert lot.expires_at.date() == (lot.created_at + dt.timedelta(days=730)).date()
    assert list(event_model().objects.filter(customer_id=customer.pk, kind="points_earned")
                .values_list("data__points", flat=True)) == [258]
    assert_ledger(member)


def test_tier_multiplier_and_upgrade_at_once(programme, personas):
    customer = make_customer(personas.admin)
    services.points_earn_order(order=_order(personas.admin, customer, "999.00"))
    member = _member(customer)
    assert member.tier.name == "普通"
    services.points_earn_order(order=_order(personas.admin, customer, "1.00"))
    member.refresh_from_db()
    assert member.tier.name == "银卡"  # 1,000 earned: upgraded on the spot
    event = event_model().objects.get(customer_id=customer.pk, kind="member_tier_changed")
    assert event.data == {"tier": "银卡", "previous": "普通", "direction": "up"}
    # the silver multiplier applies to the next order
    assert services.points_earn_order(order=_order(personas.admin, customer, "100.00")) == 120


def test_caps_per_order_and_per_day(programme, personas):
    programme.cap_per_order, programme.cap_per_day = 300, 500
    programme.save()
    customer = make_customer(personas.admin)
    assert services.points_earn_order(order=_order(personas.admin, customer, "400")) == 300
    assert services.points_earn_order(order=_order(personas.admin, customer, "400")) == 200
    assert services.points_earn_order(order=_order(personas.admin, customer, "400")) == 0


def test_redeem_takes_the_lots_that_expire_first(programme, personas):
    customer = make_customer(personas.admin)
    programme.expiry_days = 30
    programme.save()
    services.points_award(actor=None, customer=customer, points=100, reason="a")
    programme.expiry_days = 10
    programme.save()
    services.points_award(actor=None, customer=customer, points=50, reason="b")
    services.points_redeem(actor=personas.service, customer=customer, points=70,
                           idempotency_key="k1")
    by_points = dict(Lot.objects.filter(member__customer=customer)
                     .values_list("points", "remaining"))
    assert by_points == {50: 0, 100: 80}  # the 10-day lot went first
    assert_ledger(_member(customer))


def test_redeem_short_is_409_insufficient_points_and_the_key_replays(programme, personas):
    customer = make_customer(personas.admin)
    services.points_award(actor=None, customer=customer, points=10, reason="x")
    with pytest.raises(DomainError) as info:
        services.points_redeem(actor=personas.service, customer=customer, points=11,
                               idempotency_key="short")
    assert (info.value.status, info.value.code) == (409, "insufficient_points")
    # the same key later, even with enough points, gives the same answer
    services.points_award(actor=None, customer=customer, points=10, reason="y")
    with pytest.raises(DomainError) as again:
        services.points_redeem(actor=personas.service, customer=customer, points=11,
                               idempotency_key="short")
    assert again.value.code == "insufficient_points"
    ok = services.points_redeem(actor=personas.service, customer=customer, points=11,
                                idempotency_key="ok")
    assert ok["balance"] == 9
    assert services.points_redeem(actor=personas.service, customer=customer, points=11,
                                  idempotency_key="ok") == ok
    assert _member(customer).balance == 9
    with pytest.raises(DomainError) as reused:
        services.points_redeem(actor=personas.service, customer=customer, points=5,
                               idempotency_key="ok")
    assert (reused.value.status, reused.value.code) == (422, "idempotency_key_reused")
    assert_ledger(_member(customer))


def test_adjustments_need_a_reason_and_a_second_person_above_the_limit(programme, personas):
    customer = make_customer(personas.admin)
    with pytest.raises(PermissionDenied):
        services.points_adjust(actor=personas.sales, customer=customer, points=5,
                               reason="goodwill", idempotency_key="a")
    with pytest.raises(InvalidInput) as info:
        services.points_adjust(actor=personas.manager, customer=customer, points=5,
                               reason=" ", idempotency_key="b")
    assert info.value.errors[0].field == "reason"
    small = services.points_adjust(actor=personas.manager, customer=customer, points=500,
                                   reason="goodwill", idempotency_key="c")
    assert small["pending"] is False and small["balance"] == 500
    big = services.points_adjust(actor=personas.manager, customer=customer, points=5000,
                                 reason="migration", idempotency_key="d")
    assert big["pending"] is True and big["balance"] == 500
    with pytest.raises(Conflict):  # not by the person who asked
        services.adjustment_decide(actor=personas.manager, pending_id=big["approval_id"],
                                   approve=True)
    services.adjustment_decide(actor=personas.admin, pending_id=big["approval_id"],
                               approve=True)
    assert _member(customer).balance == 5500
    assert PendingAdjustment.objects.get().approved is True
    with pytest.raises(Conflict):
        services.adjustment_decide(actor=personas.admin, pending_id=big["approval_id"],
                                   approve=True)
    services.points_adjust(actor=personas.manager, customer=customer, points=-600,
                           reason="fix", idempotency_key="e")
    assert _member(customer).balance == 4900
    # taking away more than the balance is refused (no approval asked for nothing)
    programme.approval_above = 10**6
    programme.save()
    with pytest.raises(DomainError) as short:
        services.points_adjust(actor=personas.manager, customer=customer, points=-4901,
                               reason="fix", idempotency_key="f")
    assert short.value.code == "insufficient_points"
    assert_ledger(_member(customer))


def test_reservations_commit_release_and_expire(programme, personas):
    customer = make_customer(personas.admin)
    services.points_award(actor=None, customer=customer, points=100, reason="x")
    held = reservations.reservation_create(actor=personas.service, customer=customer,
                                           points=60, idempotency_key="r1", reference="POS-1")
    member = _member(customer)
    assert (member.balance, member.reserved) == (40, 60)
    with pytest.raises(DomainError) as short:
        reservations.reservation_create(actor=personas.service, customer=customer,
                                        points=41, idempotency_key="r2")
    assert short.value.code == "insufficient_points"
    done = reservations.reservation_commit(actor=personas.service, customer=customer,
                                           reservation_id=held["id"], idempotency_key="c1")
    assert done["state"] == "committed"
    member.refresh_from_db()
    assert (member.balance, member.reserved) == (40, 0)
    with pytest.raises(DomainError) as closed:
        reservations.reservation_release(actor=personas.service, customer=customer,
                                         reservation_id=held["id"], idempotency_key="x1")
    assert closed.value.status == 409 and closed.value.extra == {"state": "committed"}
    second = reservations.reservation_create(actor=personas.service, customer=customer,
                                             points=30, idempotency_key="r3")
    reservations.reservation_release(actor=personas.service, customer=customer,
                                     reservation_id=second["id"], idempotency_key="x2")
    member.refresh_from_db()
    assert (member.balance, member.reserved) == (40, 0)
    third = reservations.reservation_create(actor=personas.service, customer=customer,
                                            points=25, idempotency_key="r4")
    later = timezone.now() + dt.timedelta(minutes=programme.reservation_minutes + 1)
    assert reservations.reservations_expire(now=later) == 1
    assert reservations.reservations_expire(now=later) == 0
    assert Reservation.objects.get(pk=third["id"]).state == "expired"
    assert_ledger(_member(customer))


def test_refunds_reverse_proportionally_and_spent_points_become_a_debt(programme, personas):
    customer = make_customer(personas.admin)
    order = _order(personas.admin, customer, "200.00")
    services.points_earn_order(order=order)
    assert services.points_reverse_order(actor=personas.service, order=order,
                                         refunded=Decimal("50.00")) == 50
    assert _member(customer).balance == 150
    services.points_redeem(actor=personas.service, customer=customer, points=120,
                           idempotency_key="spend")
    # the rest of the order refunded: 150 due, 30 left to take, 120 owed
    assert services.points_reverse_order(actor=personas.service, order=order,
                                         refunded=Decimal("150.00")) == 150
    member = _member(customer)
    assert (member.balance, member.debt) == (0, 120)
    assert_ledger(member)
    # the next earnings pay the debt first
    services.points_earn_order(order=_order(personas.admin, customer, "100.00"))
    member.refresh_from_db()
    assert (member.balance, member.debt) == (0, 20)
    services.points_earn_order(order=_order(personas.admin, customer, "100.00"))
    member.refresh_from_db()
    assert (member.balance, member.debt) == (80, 0)
    assert_ledger(member)
    with pytest.raises(InvalidInput):
        services.points_reverse_order(actor=personas.service, order=order,
                                      refunded=Decimal("300.00"))


def test_a_refund_may_go_negative_when_the_programme_allows(programme, personas):
    programme.allow_negative = True
    programme.save()
    customer = make_customer(personas.admin)
    order = _order(personas.admin, customer, "100.00")
    services.points_earn_order(order=order)
    services.points_redeem(actor=personas.service, customer=customer, points=100,
                           idempotency_key="all")
    order_set_status(actor=personas.admin, order=order, status="refunded")
    services.points_reverse_order(actor=None, order=order)
    member = _member(customer)
    assert (member.balance, member.debt) == (-100, 0)
    services.points_award(actor=None, customer=customer, points=150, reason="x")
    member.refresh_from_db()
    assert member.balance == 50
    assert Lot.objects.filter(member=member).aggregate(s=Sum("remaining"))["s"] == 50


def test_expiry_is_safe_to_run_twice(programme, personas):
    customer = make_customer(personas.admin)
    programme.expiry_days = 5
    programme.save()
    services.points_award(actor=None, customer=customer, points=70, reason="old")
    programme.expiry_days = 50
    programme.save()
    services.points_award(actor=None, customer=customer, points=30, reason="new")
    services.points_redeem(actor=personas.service, customer=customer, points=20,
                           idempotency_key="s")
    later = timezone.now() + dt.timedelta(days=6)
    assert jobs.points_expire(now=later) == 50
    assert jobs.points_expire(now=later) == 0
    member = _member(customer)
    assert member.balance == 30
    assert Journal.objects.filter(member=member, kind="expire").count() == 1
    assert list(event_model().objects.filter(customer_id=customer.pk, kind="points_expired")
                .values_list("data__points", flat=True)) == [50]
    assert_ledger(member)


def test_tier_review_downgrades_after_the_grace_period(programme, personas):
    customer = make_customer(personas.admin)
    services.points_award(actor=None, customer=customer, points=1200, reason="x")
    member = _member(customer)
    assert member.tier.name == "银卡"
    # a year and a bit later nothing was earned in the qualifying period
    later = timezone.now() + dt.timedelta(days=400)
    assert jobs.tiers_review(now=later) == {"up": 0, "down": 0, "grace": 1}
    member.refresh_from_db()
    assert member.tier.name == "银卡" and member.downgrade_after is not None
    assert jobs.tiers_review(now=later + dt.timedelta(days=10)) == {"up": 0, "down": 0,
                                                                    "grace": 0}
    counts = jobs.tiers_review(now=later + dt.timedelta(days=31))
    assert counts == {"up": 0, "down": 1, "grace": 0}
    member.refresh_from_db()
    assert member.tier.name == "普通" and member.downgrade_after is None
    assert jobs.tiers_review(now=later + dt.timedelta(days=32)) == {"up": 0, "down": 0,
                                                                    "grace": 0}
    assert Tier.objects.count() == 3


def test_actions_earn_the_programmes_points_once_per_key(programme, personas):
    customer = make_customer(personas.admin)
    for _ in range(3):
        services.points_for_action(actor=personas.service, customer=customer,
                                   action="review", idempotency_key="rev-1")
    assert _member(customer).balance == 20
    with pytest.raises(InvalidInput) as info:
        services.points_for_action(actor=personas.service, customer=customer,
                                   action="dance", idempotency_key="d")
    assert "review" in info.value.errors[0].message
