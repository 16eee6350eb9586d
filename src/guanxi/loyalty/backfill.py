"""Points for the orders a business had before it started the programme (or before
Guanxi): every paid order without points gets what `points_earn_order` would have given
it, order by order per member — earn rules, campaign periods, tier multipliers with the
upgrades the earlier orders bring, caps per order and per day, debts paid off first, one
lot per order expiring from the order's date — but set-based: per chunk of customers a
few statements read the orders and their weighted amounts, a pass in Python follows each
member's orders in time, and multi-row inserts (COPY on PostgreSQL) write the journals,
entries, lots and the per-order record that keeps every order to one award.

What differs from awarding the orders one by one: the timeline gets one `points_earned`
event per member (the backfill's total) and one `member_tier_changed` for the tier the
member ends at, and the audit log one entry for the whole run, instead of one of each per
order and per step. Safe to run twice (an order with its record is skipped) and beside
the worker (each chunk holds its members' rows)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import (
    Case,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Round
from django.utils import timezone

from guanxi.audit.services import log_action
from guanxi.core.bulk import insert_objects, insert_rows, reserve_ids
from guanxi.core.permissions import Actor, staff
from guanxi.customers.models import Customer, Order, OrderLine, OrderStatus
from guanxi.loyalty import rules
from guanxi.loyalty.models import (
    Account,
    EarnRule,
    Entry,
    Journal,
    JournalKind,
    Lot,
    Member,
    OrderPoints,
    Qualify,
    Tier,
)
from guanxi.loyalty.services import (
    QUALIFYING_KINDS,
    entry_tier,
    programme_get,
    qualifying_since,
    tiers_ranked,
)
from guanxi.timeline.services import NewEvent, events_append_many

CUSTOMERS_PER_CHUNK = 20_000
Progress = Callable[[int, int], None]
HUNDRED = Decimal(100)


@dataclass
class _Member:
    pk: int
    customer_id: int
    tier_id: int | None
    balance: int
    debt: int
    qualifying: Decimal
    first_tier: int | None = None
    earned: int = 0
    days: dict[dt.date, int] = field(default_factory=dict)


@dataclass
class _Plan:
    """The programme as the backfill needs it, read once."""

    rate: Decimal
    expiry: dt.timedelta | None
    cap_order: int
    cap_day: int
    spend: bool
    since: dt.datetime
    now: dt.datetime
    tiers: list[tuple[int, Decimal]]
    rank: dict[int | None, int]
    multipliers: dict[int, Decimal]
    entry: int | None
    campaigns: list[rules.Rule]
    line_rules: list[EarnRule]


def _plan() -> _Plan:
    prog = programme_get()
    now = timezone.now()
    tiers, rank = tiers_ranked()
    entry = entry_tier()
    active = list(EarnRule.objects.filter(active=True).order_by("-multiplier", "pk"))
    return _Plan(
        rate=prog.points_per_unit,
        expiry=dt.timedelta(days=prog.expiry_days) if prog.expiry_days else None,
        cap_order=prog.cap_per_order, cap_day=prog.cap_per_day,
        spend=prog.qualify_on == Qualify.SPEND, since=qualifying_since(prog, now), now=now,
        tiers=tiers, rank=rank, multipliers=dict(Tier.objects.values_list("pk", "multiplier")),
        entry=entry.pk if entry else None,
        campaigns=[rules.Rule(r.kind, r.match, r.multiplier, r.starts_at, r.ends_at)
                   for r in active if r.kind == "campaign"],
        line_rules=[r for r in active if r.kind in ("product", "category")])


def _line_multiplier(plan: _Plan) -> Any:
    """rules.line_multiplier as SQL, in hundredths: the first matching rule wins, product
    rules before category rules, each kind largest first (so: the largest product rule,
    else the largest category rule, else 1)."""
    whens = []
    for kind in ("product", "category"):
        for r in plan.line_rules:
            if r.kind != kind:
                continue
            match = Q(sku=r.match) if kind == "product" else Q(product__category=r.match)
            if r.starts_at:
                match &= Q(order__placed_at__gte=r.starts_at)
            if r.ends_at:
                match &= Q(order__placed_at__lt=r.ends_at)
            whens.append(When(match, then=Value(int(r.multiplier * HUNDRED))))
    if not whens:
        return Value(100)
    return Case(*whens, default=Value(100), output_field=IntegerField())


def _weights(plan: _Plan, lo: int, hi: int) -> dict[int, int]:
    """Per paid order of the chunk: Σ cents × multiplier hundredths (exact integers)."""
    cents = Cast(Round(F("line_total") * 100), IntegerField())
    rows = (OrderLine.objects.filter(order__customer_id__gte=lo, order__customer_id__lt=hi,
                                     order__status=OrderStatus.PAID)
            .values("order_id")
            .annotate(w=Sum(cents * _line_multiplier(plan), output_field=IntegerField()))
            .values_list("order_id", "w"))
    return {order_id: int(w or 0) for order_id, w in rows}


def _members(plan: _Plan, lo: int, hi: int, customer_ids: set[int]) -> dict[int, _Member]:
    """The chunk's members (enrolled now at the entry tier if new), locked, with what
    counts towards their tier."""
    insert_objects(Member, [{"customer": c, "tier": plan.entry, "tier_since": plan.now,
                             "joined_at": plan.now} for c in sorted(customer_ids)],
                   ignore_conflicts=True)
    query = Member.objects.filter(customer_id__gte=lo, customer_id__lt=hi,
                                  customer_id__in=customer_ids)
    if connection.vendor == "postgresql":
        query = query.select_for_update().order_by("pk")
    members = {m[1]: _Member(m[0], m[1], m[2], m[3], m[4], Decimal(0))
               for m in query.values_list("pk", "customer_id", "tier_id", "balance", "debt")}
    by_pk = {m.pk: m for m in members.values()}
    for m in members.values():
        m.first_tier = m.tier_id
    if plan.spend:
        spent = (Order.objects.filter(customer_id__in=customer_ids, status=OrderStatus.PAID,
                                      placed_at__gte=plan.since)
                 .values("customer_id").annotate(s=Sum("total"))
                 .values_list("customer_id", "s"))
        for customer_id, total in spent:
            members[customer_id].qualifying = Decimal(total or 0)
    else:
        earned = (Journal.objects.filter(member_id__in=by_pk, created_at__gte=plan.since,
                                         kind__in=QUALIFYING_KINDS)
                  .values("member_id").annotate(s=Sum("points"))
                  .values_list("member_id", "s"))
        for member_id, total in earned:
            by_pk[member_id].qualifying = Decimal(total or 0)
    if plan.cap_day:
        for member_id, at, points in Journal.objects.filter(
                member_id__in=by_pk, kind=JournalKind.EARN).values_list(
                "member_id", "created_at", "points"):
            day = timezone.localdate(at)
            by_pk[member_id].days[day] = by_pk[member_id].days.get(day, 0) + points
    return members


def _points(plan: _Plan, member: _Member, weight: int, at: dt.datetime) -> int:
    """rules.order_points over the order's weighted amount."""
    campaign = max((r.multiplier for r in plan.campaigns if r.active_at(at)),
                   default=Decimal(1))
    multiplier = plan.multipliers.get(member.tier_id, Decimal(1)) \
        if member.tier_id else Decimal(1)
    raw = Decimal(weight) / (HUNDRED * HUNDRED) * plan.rate * campaign * multiplier
    points = int(raw.to_integral_value(rounding=ROUND_FLOOR)) if raw > 0 else 0
    if plan.cap_order:
        points = min(points, plan.cap_order)
    if plan.cap_day:
        points = min(points, max(plan.cap_day - member.days.get(timezone.localdate(at), 0),
                                 0))
    return points


def _adapter() -> Callable[[dt.datetime], Any]:
    """What the driver takes for an aware datetime: PostgreSQL's takes it as it is;
    SQLite's column holds Django's text (naive UTC, `str()` of the datetime) — made here
    without the per-call checks of adapt_datetimefield_value (a quarter of the run)."""
    if connection.vendor != "sqlite":
        return connection.ops.adapt_datetimefield_value
    return lambda value: str(value.astimezone(dt.UTC).replace(tzinfo=None))


def _adapt(value: dt.datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def _chunk(plan: _Plan, lo: int, hi: int, actor: Actor) -> tuple[int, int, int]:
    """One transaction: the chunk's orders without points get them. Returns (orders,
    points, members)."""
    with transaction.atomic():
        pending = Order.objects.filter(customer_id__gte=lo, customer_id__lt=hi,
                                       status=OrderStatus.PAID).filter(
            ~Exists(OrderPoints.objects.filter(order_id=OuterRef("pk"))))
        customer_ids = set(pending.values_list("customer_id", flat=True).distinct())
        if not customer_ids:
            return 0, 0, 0
        members = _members(plan, lo, hi, customer_ids)
        # read after the members are locked: what the worker awarded meanwhile is skipped
        orders = list(pending.order_by("customer_id", "placed_at", "pk")
                      .values_list("pk", "customer_id", "placed_at"))
        weights = _weights(plan, lo, hi)
        awarded: list[tuple[int, _Member, dt.datetime, int]] = []
        for order_id, customer_id, placed_at in orders:
            member = members[customer_id]
            at = min(placed_at, plan.now)
            points = _points(plan, member, weights.get(order_id, 0), placed_at)
            awarded.append((order_id, member, at, points))
            if points > 0:
                if plan.cap_day:
                    day = timezone.localdate(at)
                    member.days[day] = member.days.get(day, 0) + points
                if not plan.spend and at >= plan.since:
                    member.qualifying += points
            # an upgrade applies at once, to the member's next order
            qualified = rules.tier_for(member.qualifying, plan.tiers)
            if plan.rank.get(qualified, -1) > plan.rank.get(member.tier_id, -1):
                member.tier_id = qualified
            member.earned += points
        _write(plan, awarded, actor)
        changed = _members_write(plan, members, actor)
    return len(orders), sum(a[3] for a in awarded), changed


def _write(plan: _Plan, awarded: list[tuple[int, _Member, dt.datetime, int]],
           actor: Actor) -> None:
    """Journals, entries and lots as services._credit writes them (a debt is paid off
    first; the rest goes to the balance, a negative balance is made good first and the
    remainder sits in the order's lot); the per-order record for every order."""
    earning = [a for a in awarded if a[3] > 0]
    ids = reserve_ids(Journal, len(earning))
    actor_id = getattr(staff(actor), "pk", None)
    adapt = _adapter()
    earn, liability, owed, own = (JournalKind.EARN.value, Account.LIABILITY.value,
                                  Account.DEBT.value, Account.MEMBER.value)
    journals: list[tuple[Any, ...]] = []
    entries: list[tuple[int, str, int | None, int]] = []
    lots: list[tuple[Any, ...]] = []
    state: dict[int, tuple[int, int]] = {}
    for journal_id, (order_id, member, at, points) in zip(ids, earning, strict=True):
        balance, debt = state.get(member.pk, (member.balance, member.debt))
        pay = min(debt, points)
        rest = points - pay
        balance, debt = balance + rest, debt - pay
        state[member.pk] = (balance, debt)
        created = adapt(at)
        journals.append((journal_id, member.pk, earn, points, order_id, "", actor_id,
                         created))
        entries.append((journal_id, liability, None, -points))
        if pay:
            entries.append((journal_id, owed, member.pk, pay))
        if rest:
            entries.append((journal_id, own, member.pk, rest))
        in_lot = min(rest, max(balance, 0))
        if in_lot > 0:
            lots.append((member.pk, journal_id, in_lot, in_lot,
                         adapt(at + plan.expiry) if plan.expiry else None, created))
    for member in {a[1].pk: a[1] for a in earning}.values():
        member.balance, member.debt = state[member.pk]
    insert_rows(Journal._meta.db_table, ["id", "member_id", "kind", "points", "order_id",
                                         "reason", "actor_id", "created_at"], journals)
    insert_rows(Entry._meta.db_table, ["journal_id", "account", "member_id", "points"],
                entries)
    insert_rows(Lot._meta.db_table, ["member_id", "journal_id", "points", "remaining",
                                     "expires_at", "created_at"], lots)
    zero = connection.ops.adapt_decimalfield_value(Decimal(0), 14, 2)
    insert_rows(OrderPoints._meta.db_table, ["order_id", "member_id", "points", "reversed",
                                             "refunded_amount"],
                [(order_id, member.pk, points, 0, zero)
                 for order_id, member, _at, points in awarded])


def _members_write(plan: _Plan, members: dict[int, _Member], actor: Actor) -> int:
    """Balances, debts and upgraded tiers; the timeline: one `points_earned` per member
    with the total, one `member_tier_changed` for the tier reached."""
    names: dict[int | None, str] = dict(Tier.objects.values_list("pk", "name"))
    upgraded = [m for m in members.values() if m.tier_id != m.first_tier]
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {Member._meta.db_table} SET balance = %s, debt = %s WHERE id = %s",
            [(m.balance, m.debt, m.pk) for m in members.values() if m.earned])
        cursor.executemany(
            f"UPDATE {Member._meta.db_table} SET tier_id = %s, tier_since = %s, "
            "downgrade_after = NULL WHERE id = %s",
            [(m.tier_id, _adapt(plan.now), m.pk) for m in upgraded])
    events_append_many(
        [NewEvent(customer_id=m.customer_id, kind="points_earned", occurred_at=plan.now,
                  data={"points": m.earned, "reason": "backfill"}, actor_id=None)
         for m in members.values() if m.earned]
        + [NewEvent(customer_id=m.customer_id, kind="member_tier_changed",
                    occurred_at=plan.now, data={"tier": names.get(m.tier_id, ""),
                                                "previous": names.get(m.first_tier, ""),
                                                "direction": "up"})
           for m in upgraded])
    return len(members)


def points_backfill(*, actor: Actor = None, progress: Progress | None = None,
                    chunk: int = CUSTOMERS_PER_CHUNK) -> dict[str, int]:
    """Award every paid order that has no points yet (see the module). Returns how many
    orders, points and members."""
    plan = _plan()
    bounds = Customer.objects.order_by("pk").values_list("pk", flat=True)
    first, last = bounds.first(), bounds.last()
    totals = {"orders": 0, "points": 0, "members": 0}
    if first is None or last is None:
        return totals
    span = last - first + 1
    for lo in range(first, last + 1, chunk):
        orders, points, touched = _chunk(plan, lo, lo + chunk, actor)
        totals["orders"] += orders
        totals["points"] += points
        totals["members"] += touched
        if progress:
            progress(min(lo + chunk - first, span), span)
    if totals["orders"]:
        log_action(actor=actor, action="loyalty.backfill", object_type="loyalty.programme",
                   changes={"points": [None, totals["points"]]},
                   extra={"orders": totals["orders"], "members": totals["members"]})
    return totals
