"""The points lottery (积分抽奖) as members and staff use it: a draw is set up with its
prize table (checked: weights, stock, the ¥50,000 top-prize limit) and its seed
committed; a member plays for points (within the per-member limit, while it is open, once
per idempotency key); the prize is delivered as points or a coupon; after it closes the
seed is shown so anyone can replay every ticket (lottery.py)."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.audit.services import log_action
from guanxi.core.errors import Conflict, FieldError, InvalidInput
from guanxi.core.permissions import Actor, require
from guanxi.customers.models import Customer
from guanxi.loyalty import lottery
from guanxi.loyalty.coupons import code_show, coupon_issue
from guanxi.loyalty.idempotency import once
from guanxi.loyalty.models import Account, CouponTemplate, Draw, JournalKind, Prize, Ticket
from guanxi.loyalty.permissions import LoyaltyAction
from guanxi.loyalty.services import debit, member_event, member_locked, points_award, summary


@dataclass(frozen=True)
class PrizeInput:
    name: str
    weight: int
    stock: int | None = None
    points: int = 0
    coupon_id: int | None = None
    value: Decimal = Decimal(0)


def parse_prizes(text: str) -> list[PrizeInput]:
    """Prize lines as the set-up page takes them: name, weight, stock (empty: unlimited),
    points won, coupon template id, worth in yuan — comma separated, one prize a line."""
    prizes, errors = [], []
    for n, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        cells = [c.strip() for c in line.replace("，", ",").split(",")] + [""] * 6
        try:
            prizes.append(PrizeInput(
                name=cells[0], weight=int(cells[1]),
                stock=int(cells[2]) if cells[2] else None,
                points=int(cells[3] or 0), coupon_id=int(cells[4]) if cells[4] else None,
                value=Decimal(cells[5] or 0)))
        except (ValueError, InvalidOperation):
            errors.append(FieldError(f"prizes.{n}", _(
                "Line %(n)d: name, weight, stock, points, coupon template id, worth — "
                "numbers where numbers go") % {"n": n}, line))
    if errors:
        raise InvalidInput(errors)
    return prizes


def draw_save(*, actor: Actor, name: str, cost: int, per_member: int,
              starts_at: dt.datetime, ends_at: dt.datetime,
              prizes: Sequence[PrizeInput]) -> Draw:
    """A new lottery with its prize table; the seed is drawn and committed now."""
    require(actor, LoyaltyAction.MANAGE)
    errors: list[FieldError] = []
    if not name.strip():
        errors.append(FieldError("name", _("This field cannot be empty")))
    if cost < 1:
        errors.append(FieldError("cost", _("At least 1 point"), cost))
    if ends_at <= starts_at:
        errors.append(FieldError("ends_at", _("Must be after the start")))
    for i, p in enumerate(prizes):
        if not p.name.strip():
            errors.append(FieldError(f"prizes.{i + 1}", _("Name the prize")))
        if p.value > lottery.TOP_PRIZE_LIMIT:
            errors.append(FieldError(f"prizes.{i + 1}", _(
                "A prize may not be worth more than ¥50,000 (China's rules for prize "
                "promotions)"), str(p.value)))
        if p.weight < 0 or (p.stock is not None and p.stock < 0) or p.points < 0:
            errors.append(FieldError(f"prizes.{i + 1}", _("Must not be negative")))
        if p.coupon_id and not CouponTemplate.objects.filter(pk=p.coupon_id).exists():
            errors.append(FieldError(f"prizes.{i + 1}", _("No such coupon template"),
                                     p.coupon_id))
    if not prizes or sum(p.weight for p in prizes) <= 0:
        errors.append(FieldError("prizes", _("Give at least one prize with a weight")))
    if errors:
        raise InvalidInput(errors)
    seed = secrets.token_hex(32)
    with transaction.atomic():
        draw = Draw.objects.create(name=name.strip(), cost=cost, per_member=per_member,
                                   starts_at=starts_at, ends_at=ends_at, seed=seed,
                                   commitment=lottery.commitment(seed))
        Prize.objects.bulk_create([Prize(draw=draw, position=i, name=p.name.strip(),
                                         weight=p.weight, stock=p.stock, points=p.points,
                                         coupon_id=p.coupon_id, value=p.value)
                                   for i, p in enumerate(prizes)])
        log_action(actor=actor, action="loyalty.draw", obj=draw,
                   changes={"name": [None, draw.name]},
                   extra={"commitment": draw.commitment, "prizes": len(prizes)})
    return draw


def _specs(prizes: Sequence[Prize]) -> list[lottery.PrizeSpec]:
    return [lottery.PrizeSpec(p.name, p.weight, p.stock, p.value) for p in prizes]


def draw_play(*, actor: Actor, customer: Customer, draw: Draw, idempotency_key: str
              ) -> dict[str, Any]:
    """One ticket: the cost in points, then the prize (points or a coupon), or nothing.
    409 `insufficient_points`, or a conflict when the draw is closed or the member has
    used their draws."""
    if actor is not None:
        require(actor, LoyaltyAction.WORK)

    def run() -> dict[str, Any]:
        member = member_locked(customer)
        locked = Draw.objects.select_for_update().get(pk=draw.pk)
        now = timezone.now()
        if not locked.starts_at <= now < locked.ends_at:
            raise Conflict(_("This lottery is not open"), field_name="draw")
        if Ticket.objects.filter(draw=locked, customer=customer).count() >= locked.per_member:
            raise Conflict(_("You have used your %(n)d draws") % {"n": locked.per_member},
                           field_name="draw")
        debit(member, JournalKind.REDEEM, locked.cost, Account.REDEEMED,
              reason=f"draw:{locked.pk}", actor=actor)
        member_event(member, "points_spent", actor, points=locked.cost,
                     reference=locked.name[:100])
        prizes = list(Prize.objects.select_for_update().filter(draw=locked))
        won = [p.won for p in prizes]
        index = lottery.play(_specs(prizes), won, locked.seed, locked.pk, locked.tickets,
                             customer.pk)
        prize = prizes[index] if index is not None else None
        ticket = Ticket.objects.create(draw=locked, seq=locked.tickets, customer=customer,
                                       prize=prize)
        locked.tickets += 1
        locked.save(update_fields=["tickets"])
        code = None
        if prize is not None and index is not None:
            Prize.objects.filter(pk=prize.pk).update(won=won[index])
            if prize.points:
                points_award(actor=None, customer=customer, points=prize.points,
                             reason=f"draw:{locked.pk}")
            if prize.coupon is not None:
                coupon = coupon_issue(actor=None, template=prize.coupon, customer=customer,
                                      source=f"draw:{locked.pk}", key=f"ticket:{ticket.pk}")
                code = code_show(coupon.code)
        log_action(actor=actor, action="loyalty.draw_play", obj=ticket,
                   customer_id=customer.pk,
                   extra={"prize": prize.name if prize else None, "seq": ticket.seq})
        member.refresh_from_db()
        return {**summary(member), "ticket": ticket.seq,
                "prize": prize.name if prize else None, "coupon": code}

    return once(f"draw:{draw.pk}:{customer.pk}:{idempotency_key}", {"draw": draw.pk}, run,
                lock=lambda: member_locked(customer))


def draw_view(draw: Draw, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """What is published: the prize table with its odds, the commitment, and the seed
    once the draw has closed."""
    now = now or timezone.now()
    prizes = list(draw.prizes.all())
    odds = lottery.odds(_specs(prizes)) if prizes else []
    return {"id": draw.pk, "name": draw.name, "cost": draw.cost,
            "per_member": draw.per_member, "starts_at": draw.starts_at,
            "ends_at": draw.ends_at, "open": draw.starts_at <= now < draw.ends_at,
            "commitment": draw.commitment, "tickets": draw.tickets,
            "seed": draw.seed if now >= draw.ends_at else None,
            "prizes": [{"name": p.name, "odds": round(o, 6), "percent": f"{o * 100:.4g}",
                        "stock": p.stock,
                        "left": None if p.stock is None else max(p.stock - p.won, 0),
                        "points": p.points, "coupon_id": p.coupon_id, "value": str(p.value)}
                       for p, o in zip(prizes, odds, strict=True)]}


def draw_tickets(draw: Draw) -> list[dict[str, Any]]:
    """Every ticket (number, customer, prize position or none), for the replay."""
    positions = dict(Prize.objects.filter(draw=draw).values_list("pk", "position"))
    return [{"seq": t.seq, "customer_id": t.customer_id,
             "prize": positions.get(t.prize_id) if t.prize_id else None}
            for t in Ticket.objects.filter(draw=draw).order_by("seq")]
