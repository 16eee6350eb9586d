"""The programme's maths as pure functions over plain values: points for an order, which
lots a redemption takes, how much of an order's points a refund reverses, and which tier
a member qualifies for. Tested without a database (tests/test_rules.py)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal


@dataclass(frozen=True)
class Line:
    sku: str
    category: str
    amount: Decimal


@dataclass(frozen=True)
class Rule:
    kind: str  # "category", "product" or "campaign"
    match: str
    multiplier: Decimal
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None

    def active_at(self, at: dt.datetime) -> bool:
        return ((self.starts_at is None or self.starts_at <= at)
                and (self.ends_at is None or at < self.ends_at))


def line_multiplier(line: Line, rules: Sequence[Rule], at: dt.datetime) -> Decimal:
    """A product rule wins over a category rule (the most specific); the largest of each
    applies when several match."""
    product = [r.multiplier for r in rules
               if r.kind == "product" and r.match == line.sku and r.active_at(at)]
    if product:
        return max(product)
    category = [r.multiplier for r in rules if r.kind == "category" and line.category
                and r.match == line.category and r.active_at(at)]
    return max(category) if category else Decimal(1)


def order_points(lines: Sequence[Line], *, rate: Decimal, rules: Sequence[Rule],
                 tier_multiplier: Decimal, at: dt.datetime, cap_order: int = 0,
                 room_today: int | None = None) -> int:
    """Points for an order: each line's amount × rate × its product or category
    multiplier, then × the campaign in force (the largest) × the member's tier
    multiplier, rounded down; capped per order and by what is left of the day's cap."""
    campaign = max((r.multiplier for r in rules if r.kind == "campaign" and r.active_at(at)),
                   default=Decimal(1))
    raw = sum((ln.amount * rate * line_multiplier(ln, rules, at) for ln in lines),
              Decimal(0)) * campaign * tier_multiplier
    points = int(raw.to_integral_value(rounding=ROUND_FLOOR)) if raw > 0 else 0
    if cap_order:
        points = min(points, cap_order)
    if room_today is not None:
        points = min(points, max(room_today, 0))
    return points


def take_lots(lots: Sequence[tuple[int, int, dt.datetime | None]], points: int
              ) -> list[tuple[int, int]]:
    """(lot id, points taken) for taking `points` from lots given as (id, remaining,
    expires_at): those that expire first go first (never-expiring last), ties by id.
    Raises ValueError if the lots hold fewer points."""
    if points < 0:
        raise ValueError("points must not be negative")
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    taken: list[tuple[int, int]] = []
    left = points
    for lot_id, remaining, _expires in sorted(lots, key=lambda lot: (lot[2] or far, lot[0])):
        if left == 0:
            break
        if remaining <= 0:
            continue
        use = min(remaining, left)
        taken.append((lot_id, use))
        left -= use
    if left:
        raise ValueError(f"{left} points more than the lots hold")
    return taken


def reversal_points(*, earned: int, already_reversed: int, order_total: Decimal,
                    refunded_before: Decimal, refunded_now: Decimal) -> int:
    """Points to take back for a refund, proportional to the amount refunded: after all
    refunds of an order the reversed points add up to floor(earned × refunded / total)
    (everything, for a full refund), whatever the order of partial refunds."""
    if order_total <= 0 or earned <= 0:
        return 0
    refunded = min(refunded_before + refunded_now, order_total)
    due = earned if refunded >= order_total else math.floor(
        Decimal(earned) * refunded / order_total)
    return max(due - already_reversed, 0)


def tier_for(value: Decimal, tiers: Sequence[tuple[int, Decimal]]) -> int | None:
    """The id of the highest tier whose threshold `value` reaches, from (id, threshold)."""
    best: tuple[Decimal, int] | None = None
    for tier_id, threshold in tiers:
        if value >= threshold and (best is None or threshold >= best[0]):
            best = (threshold, tier_id)
    return best[1] if best else None


@dataclass(frozen=True)
class TierDecision:
    tier_id: int | None
    downgrade_after: dt.datetime | None
    changed: bool


def review(*, current: int | None, qualified: int | None, rank: dict[int | None, int],
           downgrade_after: dt.datetime | None, now: dt.datetime,
           grace: dt.timedelta) -> TierDecision:
    """The periodic review: an upgrade applies at once; a member below their tier keeps
    it for the grace period (from the first review that found them below), then moves
    down to the tier they qualify for; qualifying again cancels a pending downgrade."""
    if rank.get(qualified, -1) >= rank.get(current, -1):
        return TierDecision(qualified, None, qualified != current)
    if downgrade_after is None:
        return TierDecision(current, now + grace, False)
    if now >= downgrade_after:
        return TierDecision(qualified, None, True)
    return TierDecision(current, downgrade_after, False)
