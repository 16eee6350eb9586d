"""Writes to members and their points: enrolment, earning from orders and actions,
manual adjustments (with a second person's approval above the programme's limit),
redemption, reservations (reserve → commit / release), refund reversals, expiry and the
tier review. Each runs in a transaction with the member's row locked, posts through
ledger.post, records an audit entry and writes the customer's timeline."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.audit.services import log_action
from guanxi.core.errors import Conflict, DomainError, InvalidInput, NotFound
from guanxi.core.permissions import Actor, require
from guanxi.customers.models import Customer, Order, OrderStatus
from guanxi.loyalty import ledger, rules
from guanxi.loyalty.idempotency import once
from guanxi.loyalty.models import (
    Account,
    EarnRule,
    Entry,
    Journal,
    JournalKind,
    Lot,
    Member,
    OrderPoints,
    PendingAdjustment,
    Programme,
    Qualify,
    Reservation,
    Tier,
)
from guanxi.loyalty.permissions import LoyaltyAction
from guanxi.timeline.services import event_append

MAX_POINTS = 10**9


class InsufficientPoints(DomainError):
    def __init__(self, balance: int, wanted: int) -> None:
        super().__init__(
            message=_("Not enough points: the balance is %(balance)d, %(wanted)d needed")
            % {"balance": balance, "wanted": wanted},
            status=409, code="insufficient_points",
            extra={"balance": balance, "wanted": wanted})


def programme_get() -> Programme:
    """The programme's settings; the defaults (unsaved) until a manager saves them, so
    reading them never writes."""
    found = Programme.objects.order_by("pk").first()
    return found if found is not None else Programme()


# Journals that count as points earned for a tier: orders and actions, less reversals.
QUALIFYING_KINDS = (JournalKind.EARN, JournalKind.AWARD, JournalKind.REVERSE)


def qualifying_since(prog: Programme, now: dt.datetime) -> dt.datetime:
    """The start of the rolling qualifying period."""
    return now - dt.timedelta(days=round(prog.qualify_months * 30.44))


def entry_tier() -> Tier | None:
    return Tier.objects.filter(threshold__lte=0).order_by("-threshold", "pk").first()


def member_enrol(customer: Customer) -> Member:
    """The customer's membership, created at the entry tier the first time."""
    member = Member.objects.filter(customer_id=customer.pk).first()
    if member is not None:
        return member
    with transaction.atomic():
        member, _created = Member.objects.get_or_create(
            customer_id=customer.pk, defaults={"tier": entry_tier()})
    return member


def member_locked(customer: Customer) -> Member:
    member_enrol(customer)
    return Member.objects.select_for_update().get(customer_id=customer.pk)


def _expiry(at: dt.datetime) -> dt.datetime | None:
    days = programme_get().expiry_days
    return at + dt.timedelta(days=days) if days else None


def member_event(member: Member, kind: str, actor: Actor, **data: Any) -> None:
    event_append(customer_id=member.customer_id, kind=kind, actor=actor,
                 data={k: v for k, v in data.items() if v is not None})


def check_points(points: int, field: str = "points", *, allow_negative: bool = False
                  ) -> None:
    if isinstance(points, bool) or not isinstance(points, int):
        raise InvalidInput.single(field, _("A whole number of points"), points)
    low = -MAX_POINTS if allow_negative else 1
    if not low <= points <= MAX_POINTS or points == 0:
        raise InvalidInput.single(field, _("Between %(low)d and %(high)d, not zero")
                                  % {"low": low, "high": MAX_POINTS}, points)


def _credit(member: Member, kind: str, points: int, *, at: dt.datetime,
            order_id: int | None = None, reason: str = "", actor: Actor = None) -> Journal:
    """Points into the member's account from the liability: a debt is paid off first,
    the rest sits in a new lot (or makes good a negative balance)."""
    pay = min(member.debt, points)
    rest = points - pay
    journal = ledger.post(member, kind, [(Account.LIABILITY, -points), (Account.DEBT, pay),
                                         (Account.MEMBER, rest)],
                          points=points, order_id=order_id, reason=reason, actor=actor, at=at)
    in_lots = min(rest, max(member.balance, 0))  # a negative balance is made good first
    ledger.add_lot(member, journal, in_lots, _expiry(at))
    return journal


def debit(member: Member, kind: str, points: int, to: str, *, reason: str = "",
           actor: Actor = None, order_id: int | None = None) -> Journal:
    if member.balance < points:
        raise InsufficientPoints(member.balance, points)
    journal = ledger.post(member, kind, [(Account.MEMBER, -points), (to, points)],
                          points=-points, reason=reason, actor=actor, order_id=order_id)
    ledger.consume(member, journal, points)
    return journal


# --- tiers -----------------------------------------------------------------------------

def qualifying_value(member: Member, *, now: dt.datetime | None = None) -> Decimal:
    """Points earned (from orders and actions, less reversals) or the amount spent in
    the programme's rolling period."""
    prog = programme_get()
    since = qualifying_since(prog, now or timezone.now())
    if prog.qualify_on == Qualify.SPEND:
        total = (Order.objects.filter(customer_id=member.customer_id, status=OrderStatus.PAID,
                                      placed_at__gte=since).aggregate(s=Sum("total"))["s"])
        return Decimal(total or 0)
    earned = Journal.objects.filter(member=member, created_at__gte=since,
                                    kind__in=QUALIFYING_KINDS).aggregate(s=Sum("points"))["s"]
    return Decimal(earned or 0)


def tiers_ranked() -> tuple[list[tuple[int, Decimal]], dict[int | None, int]]:
    tiers = list(Tier.objects.order_by("threshold", "pk").values_list("pk", "threshold"))
    return tiers, {pk: i for i, (pk, _t) in enumerate(tiers)}


def tier_apply(member: Member, decision: rules.TierDecision, actor: Actor) -> None:
    old = member.tier_id
    member.tier_id = decision.tier_id
    member.downgrade_after = decision.downgrade_after
    fields = ["tier", "downgrade_after"]
    if decision.changed:
        member.tier_since = timezone.now()
        fields.append("tier_since")
    member.save(update_fields=fields)
    if decision.changed:
        names: dict[int | None, str] = dict(
            Tier.objects.filter(pk__in=[old, decision.tier_id]).values_list("pk", "name"))
        _, rank = tiers_ranked()
        up = rank.get(decision.tier_id, -1) > rank.get(old, -1)
        member_event(member, "member_tier_changed", actor,
                     tier=names.get(decision.tier_id, ""), previous=names.get(old, ""),
                     direction="up" if up else "down")
        log_action(actor=actor, action="loyalty.tier", obj=member,
                   customer_id=member.customer_id,
                   changes={"tier": [names.get(old), names.get(decision.tier_id)]})


def _upgrade(member: Member, actor: Actor) -> None:
    """An upgrade applies at once (downgrades wait for the review)."""
    tiers, rank = tiers_ranked()
    qualified = rules.tier_for(qualifying_value(member), tiers)
    if rank.get(qualified, -1) > rank.get(member.tier_id, -1):
        tier_apply(member, rules.TierDecision(qualified, None, True), actor)


def tier_review(member: Member, *, now: dt.datetime | None = None, actor: Actor = None
                ) -> rules.TierDecision:
    """The periodic review of one member (tiers_review runs it for all)."""
    now = now or timezone.now()
    tiers, rank = tiers_ranked()
    decision = rules.review(
        current=member.tier_id, qualified=rules.tier_for(qualifying_value(member, now=now),
                                                         tiers),
        rank=rank, downgrade_after=member.downgrade_after, now=now,
        grace=dt.timedelta(days=programme_get().grace_days))
    if decision.changed or decision.downgrade_after != member.downgrade_after:
        tier_apply(member, decision, actor)
    return decision


# --- earning ---------------------------------------------------------------------------

def _order_lines(order: Order) -> list[rules.Line]:
    return [rules.Line(ln.sku, ln.product.category if ln.product else "", ln.line_total)
            for ln in order.lines.select_related("product")]


def _earned_today(member: Member, at: dt.datetime) -> int:
    start = timezone.localtime(at).replace(hour=0, minute=0, second=0, microsecond=0)
    return int(Journal.objects.filter(member=member, kind=JournalKind.EARN,
                                      created_at__gte=start,
                                      created_at__lt=start + dt.timedelta(days=1))
               .aggregate(s=Sum("points"))["s"] or 0)


def points_for_order(order: Order, member: Member) -> int:
    prog = programme_get()
    tier_multiplier = member.tier.multiplier if member.tier_id and member.tier else Decimal(1)
    rule_rows = [rules.Rule(r.kind, r.match, r.multiplier, r.starts_at, r.ends_at)
                 for r in EarnRule.objects.filter(active=True)]
    room = prog.cap_per_day - _earned_today(member, order.placed_at) if prog.cap_per_day \
        else None
    return rules.order_points(_order_lines(order), rate=prog.points_per_unit, rules=rule_rows,
                              tier_multiplier=tier_multiplier, at=order.placed_at,
                              cap_order=prog.cap_per_order, room_today=room)


def points_earn_order(*, order: Order, actor: Actor = None) -> int:
    """Points for a paid order, once per order whatever calls it (the timeline consumer
    for orders from the API, imports and webhooks; the backfill). Returns the points
    awarded now (0 when the order had its points already, or earns none)."""
    if order.status != OrderStatus.PAID:
        return 0
    with transaction.atomic():
        member = member_locked(order.customer)
        if OrderPoints.objects.filter(order_id=order.pk).exists():
            return 0
        points = points_for_order(order, member)
        OrderPoints.objects.create(order_id=order.pk, member=member, points=points)
        if points <= 0:
            return 0
        at = order.placed_at if order.placed_at <= timezone.now() else timezone.now()
        _credit(member, JournalKind.EARN, points, at=at, order_id=order.pk, actor=actor)
        member_event(member, "points_earned", actor, points=points, order_id=order.pk,
               ref=str(order), reason="order")
        log_action(actor=actor, action="loyalty.earn", obj=member,
                   customer_id=member.customer_id,
                   changes={"points": [None, points]}, extra={"order": order.pk})
        _upgrade(member, actor)
    return points


def points_reverse_order(*, actor: Actor, order: Order, refunded: Decimal | None = None
                         ) -> int:
    """Take back an order's points in proportion to the amount refunded (all of them for
    a full refund or a cancellation): from the order's own lot first, then the lots that
    expire first; what was already spent becomes a debt (or a negative balance, if the
    programme allows it). Returns the points taken back now."""
    if actor is not None:
        require(actor, LoyaltyAction.WORK)
    amount = order.total if refunded is None else Decimal(refunded)
    if amount <= 0 or amount > order.total:
        raise InvalidInput.single("amount", _("Between 0.01 and the order total %(total)s")
                                  % {"total": order.total}, str(amount))
    with transaction.atomic():
        member = member_locked(order.customer)
        earned = OrderPoints.objects.select_for_update().filter(order_id=order.pk).first()
        if earned is None:
            return 0
        due = rules.reversal_points(earned=earned.points, already_reversed=earned.reversed,
                                    order_total=order.total,
                                    refunded_before=earned.refunded_amount,
                                    refunded_now=amount)
        earned.reversed += due
        earned.refunded_amount = min(earned.refunded_amount + amount, order.total)
        earned.save(update_fields=["reversed", "refunded_amount"])
        if due:
            _reverse(member, due, order, actor)
    return due


def _reverse(member: Member, due: int, order: Order, actor: Actor) -> None:
    prog = programme_get()
    available = max(member.balance, 0)
    from_balance = due if prog.allow_negative else min(due, available)
    journal = ledger.post(member, JournalKind.REVERSE,
                          [(Account.MEMBER, -from_balance), (Account.DEBT, from_balance - due),
                           (Account.LIABILITY, due)],
                          points=-due, order_id=order.pk, actor=actor)
    own = list(Lot.objects.filter(journal__order_id=order.pk, journal__kind=JournalKind.EARN,
                                  member=member).values_list("pk", flat=True))
    ledger.consume(member, journal, min(from_balance, available), first=own)
    member_event(member, "points_reversed", actor, points=due, order_id=order.pk, ref=str(order))
    log_action(actor=actor, action="loyalty.reverse", obj=member,
               customer_id=member.customer_id, changes={"points": [None, -due]},
               extra={"order": order.pk, "debt": due - from_balance})


def points_refund(*, actor: Actor, order: Order, refunded: Decimal | None,
                  idempotency_key: str) -> dict[str, Any]:
    """points_reverse_order for a shop or POS: once per idempotency key."""

    def run() -> dict[str, Any]:
        return {"order_id": order.pk, "points_reversed": points_reverse_order(
            actor=actor, order=order, refunded=refunded)}

    return once(f"refund:{order.pk}:{idempotency_key}", {"amount": str(refunded)}, run,
                lock=lambda: member_locked(order.customer))


def points_award(*, actor: Actor, customer: Customer, points: int, reason: str,
                 kind: str = JournalKind.AWARD) -> Journal:
    """Points for something other than an order (an action, a referral, an event, a
    draw prize, an automation step): callers make it idempotent."""
    check_points(points)
    with transaction.atomic():
        member = member_locked(customer)
        journal = _credit(member, kind, points, at=timezone.now(), reason=reason, actor=actor)
        member_event(member, "points_earned", actor, points=points, reason=reason[:100])
        log_action(actor=actor, action="loyalty.award", obj=member, customer_id=customer.pk,
                   changes={"points": [None, points]}, extra={"reason": reason})
        _upgrade(member, actor)
    return journal


def points_for_action(*, actor: Actor, customer: Customer, action: str,
                      idempotency_key: str) -> dict[str, Any]:
    """The programme's points for an action (review, sign-in, …), once per key."""
    require(actor, LoyaltyAction.WORK)
    table = programme_get().action_points or {}
    if action not in table:
        raise InvalidInput.single("action", _("Not an action the programme rewards (%(known)s)")
                                  % {"known": ", ".join(sorted(table)) or "-"}, action)

    def run() -> dict[str, Any]:
        points_award(actor=actor, customer=customer, points=int(table[action]),
                     reason=f"action:{action}")
        return summary(Member.objects.get(customer_id=customer.pk))

    return once(f"action:{customer.pk}:{idempotency_key}",
                {"action": action}, run, lock=lambda: member_locked(customer))


# --- spending --------------------------------------------------------------------------

def summary(member: Member) -> dict[str, Any]:
    return {"customer_id": member.customer_id, "balance": member.balance,
            "reserved": member.reserved, "debt": member.debt}


def points_redeem(*, actor: Actor, customer: Customer, points: int, idempotency_key: str,
                  reference: str = "") -> dict[str, Any]:
    """Spend points (a POS or shop paying with them, a reward): 409
    `insufficient_points` when the balance is short; once per idempotency key."""
    require(actor, LoyaltyAction.WORK)
    check_points(points)

    def run() -> dict[str, Any]:
        member = member_locked(customer)
        journal = debit(member, JournalKind.REDEEM, points, Account.REDEEMED,
                         reason=reference, actor=actor)
        member_event(member, "points_spent", actor, points=points, reference=reference[:100])
        log_action(actor=actor, action="loyalty.redeem", obj=member,
                   customer_id=customer.pk, changes={"points": [None, -points]},
                   extra={"reference": reference, "journal": journal.pk})
        return summary(member)

    return once(f"redeem:{customer.pk}:{idempotency_key}",
                {"points": points, "reference": reference}, run,
                lock=lambda: member_locked(customer))


def points_adjust(*, actor: Actor, customer: Customer, points: int, reason: str,
                  idempotency_key: str) -> dict[str, Any]:
    """A manual correction with its reason. Above the programme's limit it waits for a
    second person's approval (`pending: true` and the request's id)."""
    require(actor, LoyaltyAction.ADJUST)
    check_points(points, allow_negative=True)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput.single("reason", _("Say why the points change"))

    def run() -> dict[str, Any]:
        member = member_locked(customer)
        if abs(points) > programme_get().approval_above:
            pending = PendingAdjustment.objects.create(member=member, points=points,
                                                       reason=reason[:200],
                                                       requested_by=_user(actor))
            log_action(actor=actor, action="loyalty.adjust_requested", obj=pending,
                       customer_id=customer.pk, changes={"points": [None, points]},
                       extra={"reason": reason})
            return {**summary(member), "pending": True, "approval_id": pending.pk}
        _adjust(member, points, reason, actor)
        return {**summary(member), "pending": False, "approval_id": None}

    return once(f"adjust:{customer.pk}:{idempotency_key}",
                {"points": points, "reason": reason}, run, lock=lambda: member_locked(customer))


def _user(actor: Actor) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


def _adjust(member: Member, points: int, reason: str, actor: Actor) -> Journal:
    if points > 0:
        journal = _credit(member, JournalKind.ADJUST, points, at=timezone.now(),
                          reason=reason, actor=actor)
    else:
        journal = debit(member, JournalKind.ADJUST, -points, Account.LIABILITY,
                         reason=reason, actor=actor)
    member_event(member, "points_adjusted", actor, points=points, reason=reason[:100])
    log_action(actor=actor, action="loyalty.adjust", obj=member,
               customer_id=member.customer_id, changes={"points": [None, points]},
               extra={"reason": reason})
    return journal


def adjustment_decide(*, actor: Actor, pending_id: int, approve: bool) -> PendingAdjustment:
    """A second person approves (the points move) or rejects a large adjustment."""
    require(actor, LoyaltyAction.ADJUST)
    with transaction.atomic():
        pending = PendingAdjustment.objects.select_for_update().filter(pk=pending_id).first()
        if pending is None:
            raise NotFound(_("No such adjustment"))
        if pending.approved is not None:
            raise Conflict(_("This adjustment was decided already"))
        if pending.requested_by_id is not None and pending.requested_by_id == getattr(
                actor, "pk", None):
            raise Conflict(_("Someone other than the requester must approve it"))
        member = Member.objects.select_for_update().get(pk=pending.member_id)
        if approve:
            pending.journal = _adjust(member, pending.points, pending.reason, actor)
        pending.approved = approve
        pending.decided_by = _user(actor)
        pending.decided_at = timezone.now()
        pending.save(update_fields=["approved", "decided_by", "decided_at", "journal"])
        log_action(actor=actor, action="loyalty.adjust_decided", obj=pending,
                   customer_id=member.customer_id, changes={"approved": [None, approve]})
    return pending


def members_fold(survivor: Customer, absorbed: Customer) -> None:
    """A merge: the absorbed customer's membership joins the kept customer's — journals,
    entries, lots and reservations move, balances add up, the higher tier stays (the
    ledger still balances and every entry is kept)."""
    gone = Member.objects.select_for_update().filter(customer_id=absorbed.pk).first()
    if gone is None:
        return
    kept = Member.objects.select_for_update().filter(customer_id=survivor.pk).first()
    if kept is None:
        Member.objects.filter(pk=gone.pk).update(customer_id=survivor.pk)
        return
    for model in (Journal, Lot, Reservation, OrderPoints, PendingAdjustment):
        model.objects.filter(member=gone).update(member=kept)
    Entry.objects.filter(member=gone).update(member=kept)
    _tiers, rank = tiers_ranked()
    better = gone.tier_id if rank.get(gone.tier_id, -1) > rank.get(kept.tier_id, -1) \
        else kept.tier_id
    Member.objects.filter(pk=kept.pk).update(
        balance=kept.balance + gone.balance, reserved=kept.reserved + gone.reserved,
        debt=kept.debt + gone.debt, tier_id=better,
        joined_at=min(kept.joined_at, gone.joined_at))
    gone.delete()
    log_action(actor=None, action="loyalty.merge", obj=kept, customer_id=survivor.pk,
               changes={"balance": [kept.balance, kept.balance + gone.balance]},
               extra={"absorbed": absorbed.pk})
