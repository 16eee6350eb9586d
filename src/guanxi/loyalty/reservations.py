"""Reservations: points held for a payment at a POS or shop (reserve), then redeemed
(commit) or given back to the lots they came from (release, or expiry after the
programme's minutes). Every call takes an idempotency key."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.audit.services import log_action
from guanxi.core.errors import Conflict, NotFound
from guanxi.core.permissions import Actor, require
from guanxi.customers.models import Customer
from guanxi.loyalty import ledger
from guanxi.loyalty.idempotency import once
from guanxi.loyalty.models import Account, JournalKind, Member, Reservation
from guanxi.loyalty.permissions import LoyaltyAction
from guanxi.loyalty.services import (
    check_points,
    debit,
    member_event,
    member_locked,
    programme_get,
)


def _reservation_out(r: Reservation) -> dict[str, Any]:
    return {"id": r.pk, "points": r.points, "state": r.state, "reference": r.reference,
            "expires_at": r.expires_at.isoformat(), "balance": r.member.balance,
            "reserved": r.member.reserved}


def reservation_create(*, actor: Actor, customer: Customer, points: int,
                       idempotency_key: str, reference: str = "") -> dict[str, Any]:
    """Hold points for a payment; they come back unless committed before expiry."""
    require(actor, LoyaltyAction.WORK)
    check_points(points)

    def run() -> dict[str, Any]:
        member = member_locked(customer)
        journal = debit(member, JournalKind.RESERVE, points, Account.RESERVED,
                         reason=reference, actor=actor)
        reservation = Reservation.objects.create(
            member=member, points=points, journal=journal, reference=reference[:100],
            expires_at=timezone.now() + dt.timedelta(
                minutes=programme_get().reservation_minutes))
        log_action(actor=actor, action="loyalty.reserve", obj=reservation,
                   customer_id=customer.pk, changes={"points": [None, points]})
        return _reservation_out(reservation)

    return once(f"reserve:{customer.pk}:{idempotency_key}",
                {"points": points, "reference": reference}, run,
                lock=lambda: member_locked(customer))


def _held(customer: Customer, reservation_id: int) -> tuple[Member, Reservation]:
    member = member_locked(customer)
    reservation = Reservation.objects.select_for_update().filter(
        pk=reservation_id, member=member).first()
    if reservation is None:
        raise NotFound(_("No such reservation"))
    if reservation.state != Reservation.State.HELD:
        raise Conflict(_("The reservation is %(state)s") % {
            "state": reservation.get_state_display()}, extra={"state": reservation.state})
    reservation.member = member
    return member, reservation


def reservation_commit(*, actor: Actor, customer: Customer, reservation_id: int,
                       idempotency_key: str) -> dict[str, Any]:
    """The payment went through: the held points are redeemed."""
    require(actor, LoyaltyAction.WORK)

    def run() -> dict[str, Any]:
        member, reservation = _held(customer, reservation_id)
        ledger.post(member, JournalKind.COMMIT,
                    [(Account.RESERVED, -reservation.points),
                     (Account.REDEEMED, reservation.points)],
                    points=0, reason=reservation.reference, actor=actor)
        reservation.state = Reservation.State.COMMITTED
        reservation.closed_at = timezone.now()
        reservation.save(update_fields=["state", "closed_at"])
        member_event(member, "points_spent", actor, points=reservation.points,
               reference=reservation.reference)
        log_action(actor=actor, action="loyalty.commit", obj=reservation,
                   customer_id=customer.pk, changes={"state": ["held", "committed"]})
        return _reservation_out(reservation)

    return once(f"commit:{customer.pk}:{idempotency_key}", {"reservation": reservation_id},
                run, lock=lambda: member_locked(customer))


def _release(member: Member, reservation: Reservation, state: str, actor: Actor) -> None:
    journal = ledger.post(member, JournalKind.RELEASE,
                          [(Account.RESERVED, -reservation.points),
                           (Account.MEMBER, reservation.points)],
                          points=0, reason=reservation.reference, actor=actor)
    ledger.restore(reservation.journal, journal)
    reservation.state = state
    reservation.closed_at = timezone.now()
    reservation.save(update_fields=["state", "closed_at"])


def reservation_release(*, actor: Actor, customer: Customer, reservation_id: int,
                        idempotency_key: str) -> dict[str, Any]:
    """The payment did not happen: the points go back to the lots they came from."""
    require(actor, LoyaltyAction.WORK)

    def run() -> dict[str, Any]:
        member, reservation = _held(customer, reservation_id)
        _release(member, reservation, Reservation.State.RELEASED, actor)
        log_action(actor=actor, action="loyalty.release", obj=reservation,
                   customer_id=customer.pk, changes={"state": ["held", "released"]})
        return _reservation_out(reservation)

    return once(f"release:{customer.pk}:{idempotency_key}", {"reservation": reservation_id},
                run, lock=lambda: member_locked(customer))


def reservations_expire(*, now: dt.datetime | None = None) -> int:
    """Release held reservations past their time (the watchdog runs it; safe to repeat)."""
    now = now or timezone.now()
    done = 0
    for pk, customer_id in Reservation.objects.filter(
            state=Reservation.State.HELD, expires_at__lte=now).values_list(
            "pk", "member__customer_id")[:1000]:
        with transaction.atomic():
            member = Member.objects.select_for_update().get(customer_id=customer_id)
            reservation = Reservation.objects.select_for_update().get(pk=pk)
            if reservation.state != Reservation.State.HELD:
                continue
            reservation.member = member
            _release(member, reservation, Reservation.State.EXPIRED, None)
            done += 1
    return done

