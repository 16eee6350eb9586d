"""Reads of loyalty for the acting user: a member's tier, balance and expiring points,
their movements and coupons, the 360 panel, the approvals card and the programme
dashboard."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, Sum
from django.utils import timezone

from guanxi.core.permissions import Actor, can, require, sees_masked
from guanxi.customers.models import Customer
from guanxi.customers.selectors import customer_get
from guanxi.loyalty.models import (
    Account,
    Coupon,
    Entry,
    Journal,
    JournalKind,
    Lot,
    Member,
    PendingAdjustment,
    Registration,
    Reward,
    Tier,
)
from guanxi.loyalty.permissions import LoyaltyAction
from guanxi.loyalty.services import qualifying_value

EXPIRING_DAYS = 90


def expiring(member: Member | None, *, days: int = EXPIRING_DAYS) -> list[dict[str, Any]]:
    """Points that expire in the next `days`, by date."""
    if member is None:
        return []
    until = timezone.now() + dt.timedelta(days=days)
    rows = (Lot.objects.filter(member=member, remaining__gt=0, expires_at__lte=until)
            .values_list("expires_at", "remaining").order_by("expires_at"))
    by_day: dict[dt.date, int] = {}
    for at, remaining in rows:
        day = timezone.localdate(at)
        by_day[day] = by_day.get(day, 0) + remaining
    return [{"date": d.isoformat(), "points": p} for d, p in by_day.items()]


def member_view(customer: Customer) -> dict[str, Any]:
    """What a POS, the member page and the panel show: tier and the progress to the
    next, balance, reserved points, debt and the points about to expire. A customer who
    has not joined yet shows the entry tier and no points."""
    member = Member.objects.filter(customer_id=customer.pk).select_related("tier").first()
    tiers = list(Tier.objects.order_by("threshold", "pk"))
    tier = member.tier if member else next((t for t in tiers if t.threshold <= 0), None)
    value = qualifying_value(member) if member else Decimal(0)
    upper = [t for t in tiers if t.threshold > (tier.threshold if tier else Decimal(-1))]
    nxt = upper[0] if upper else None
    return {
        "customer_id": customer.pk, "member": member is not None,
        "tier": tier.name if tier else None,
        "tier_benefits": tier.benefits if tier else "",
        "multiplier": str(tier.multiplier) if tier else "1",
        "balance": member.balance if member else 0,
        "reserved": member.reserved if member else 0,
        "debt": member.debt if member else 0,
        "qualifying": str(value),
        "next_tier": nxt.name if nxt else None,
        "to_next_tier": str(max(nxt.threshold - value, Decimal(0))) if nxt else None,
        "progress": (int(min(value / nxt.threshold, Decimal(1)) * 100)
                     if nxt and nxt.threshold else 100),
        "downgrade_after": member.downgrade_after.isoformat()
        if member and member.downgrade_after else None,
        "expiring": expiring(member),
        "joined_at": member.joined_at.isoformat() if member else None,
    }


def member_get(*, actor: Actor, customer_id: int) -> tuple[Customer, dict[str, Any]]:
    require(actor, LoyaltyAction.VIEW)
    customer = customer_get(actor=actor, customer_id=customer_id)
    return customer, member_view(customer)


def journals(customer: Customer, *, limit: int = 20) -> list[Journal]:
    return list(Journal.objects.filter(member__customer_id=customer.pk)
                .exclude(kind__in=[JournalKind.COMMIT, JournalKind.RELEASE])
                .select_related("order").order_by("-created_at", "-pk")[:limit])


def movements(actor: Actor, customer: Customer, *, limit: int = 50) -> list[Journal]:
    """The member's latest movements; their free-text reasons (a note staff wrote, a
    receipt number) left out for roles that see personal data masked."""
    rows = journals(customer, limit=limit)
    if sees_masked(actor):
        for j in rows:
            j.reason = ""
    return rows


def coupons_of(customer: Customer, *, usable_only: bool = False) -> list[Coupon]:
    qs = Coupon.objects.filter(customer_id=customer.pk).select_related("template")
    if usable_only:
        qs = qs.filter(state=Coupon.State.ISSUED, valid_until__gt=timezone.now())
    return list(qs.order_by("-issued_at")[:50])


def registrations_of_customer(customer: Customer) -> list[Registration]:
    """The member's event registrations, newest event first."""
    return list(Registration.objects.filter(customer_id=customer.pk).select_related("event")
                .order_by("-event__starts_at")[:50])


def customer_panel(actor: Actor, customer_id: int) -> dict[str, Any] | None:
    """The 360 panel in four queries: the member with their tier, the tier table, the
    latest movements, usable coupons, and referrals either way (one query)."""
    if not can(actor, LoyaltyAction.VIEW):
        return None
    from guanxi.loyalty.referrals import referral_tree

    customer = Customer(pk=customer_id)
    view = member_view(customer)
    return {"loyalty": view,
            "journals": journals(customer, limit=8) if view["member"] else [],
            "tree": referral_tree(customer, depth=1),
            "coupons": coupons_of(customer, usable_only=True)[:5],
            "can_work": can(actor, LoyaltyAction.WORK),
            "can_adjust": can(actor, LoyaltyAction.ADJUST), "customer_id": customer_id}


def rewards_offered() -> list[Reward]:
    """The catalogue members can take rewards from, cheapest first."""
    return list(Reward.objects.filter(active=True).select_related("coupon")
                .order_by("points", "pk"))


def adjustments_pending(*, limit: int = 50, not_by: Actor = None) -> list[PendingAdjustment]:
    """Large adjustments waiting for approval, oldest first (`not_by`: leave out those
    this person asked for, which they may not approve)."""
    qs = PendingAdjustment.objects.filter(approved__isnull=True)
    if not_by is not None:
        qs = qs.exclude(requested_by_id=getattr(not_by, "pk", None))
    return list(qs.select_related("member__customer", "requested_by")
                .order_by("requested_at")[:limit])


def home_approvals(actor: Actor) -> dict[str, Any] | None:
    waiting = adjustments_pending(limit=10, not_by=actor)
    return {"pending": waiting} if waiting else None


def dashboard(actor: Actor, *, days: int = 30) -> dict[str, Any]:
    """Members per tier, points issued / redeemed / expired in the period, the
    outstanding liability and the redemption rate."""
    require(actor, LoyaltyAction.VIEW)
    since = timezone.now() - dt.timedelta(days=days)
    per_tier = dict(Member.objects.values_list("tier_id").annotate(n=Count("pk")))
    tiers = [(t.name, per_tier.get(t.pk, 0)) for t in Tier.objects.order_by("threshold")]
    if per_tier.get(None):
        tiers.insert(0, ("-", per_tier[None]))
    moved = dict(Entry.objects.filter(journal__created_at__gte=since)
                 .filter(Q(account__in=[Account.REDEEMED, Account.EXPIRED]))
                 .values_list("account").annotate(s=Sum("points")))
    issued = int(Journal.objects.filter(created_at__gte=since, kind__in=[
        JournalKind.EARN, JournalKind.AWARD, JournalKind.ADJUST], points__gt=0)
        .aggregate(s=Sum("points"))["s"] or 0)
    redeemed = int(moved.get(Account.REDEEMED) or 0)
    totals = Member.objects.aggregate(balance=Sum("balance"), reserved=Sum("reserved"),
                                      debt=Sum("debt"), members=Count("pk"))
    liability = int(totals["balance"] or 0) + int(totals["reserved"] or 0)
    return {"days": days, "tiers": tiers, "members": totals["members"] or 0,
            "issued": issued, "redeemed": redeemed,
            "expired": int(moved.get(Account.EXPIRED) or 0),
            "liability": liability, "debt": int(totals["debt"] or 0),
            "redemption_rate": round(100 * redeemed / issued, 1) if issued else None}


def template_variables(customer: Customer) -> dict[str, Any]:
    """`member.*` for message templates."""
    view = member_view(customer)
    soon = view["expiring"][0] if view["expiring"] else None
    return {"tier": view["tier"] or "", "points": view["balance"],
            "expiring_points": soon["points"] if soon else 0,
            "expiring_on": soon["date"] if soon else ""}


def coupon_variables(customer: Customer) -> dict[str, Any]:
    """`coupon.*`: the customer's newest usable coupon."""
    from guanxi.loyalty.coupons import code_show

    found = coupons_of(customer, usable_only=True)
    if not found:
        return {"code": "", "name": "", "valid_until": ""}
    c = found[0]
    return {"code": code_show(c.code), "name": c.template.name,
            "valid_until": timezone.localdate(c.valid_until).isoformat()}
