"""The programme's maths without a database: which lots a redemption takes, proportional
reversal, points for an order, and the tier review."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from guanxi.loyalty import rules

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

lots_st = st.lists(st.tuples(st.integers(0, 50), st.one_of(st.none(), st.integers(0, 30))),
                   max_size=12).map(
    lambda rows: [(i + 1, r, None if d is None else T0 + dt.timedelta(days=d))
                  for i, (r, d) in enumerate(rows)])


@given(lots_st, st.integers(0, 400))
def test_lots_that_expire_first_are_taken_first(lots, points):
    # given lots, when `points` are taken
    total = sum(r for _i, r, _e in lots)
    if points > total:
        with pytest.raises(ValueError):
            rules.take_lots(lots, points)
        return
    taken = dict(rules.take_lots(lots, points))
    # then exactly that many, never more than a lot holds
    assert sum(taken.values()) == points
    by_id = {i: (r, e) for i, r, e in lots}
    assert all(0 < used <= by_id[i][0] for i, used in taken.items())
    # and no lot is touched while one expiring earlier still has points left
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    key = {i: (e or far, i) for i, _r, e in lots}
    for i in taken:
        for j, (remaining, _e) in by_id.items():
            if key[j] < key[i] and remaining > 0:
                assert taken.get(j) == remaining


@given(st.integers(1, 10_000), st.decimals("0.01", "100000", places=2),
       st.lists(st.integers(1, 100), min_size=1, max_size=6))
def test_partial_refunds_add_up_to_the_proportional_points(earned, total, parts):
    # given refunds in parts (weights) that together refund the whole order
    weights = sum(parts)
    amounts = [(total * p / weights).quantize(Decimal("0.01")) for p in parts]
    amounts[-1] = total - sum(amounts[:-1])
    reversed_, refunded = 0, Decimal(0)
    for amount in amounts:
        if amount <= 0:
            continue
        due = rules.reversal_points(earned=earned, already_reversed=reversed_,
                                    order_total=total, refunded_before=refunded,
                                    refunded_now=amount)
        assert due >= 0
        reversed_ += due
        refunded += amount
        # after each refund, what was taken back is the proportional share, rounded down
        if refunded < total:
            assert reversed_ == int(Decimal(earned) * refunded / total)
    # then the whole order's points are back, never more
    assert reversed_ == earned


def test_points_for_an_order_use_the_most_specific_rule_campaign_tier_and_caps():
    lines = [rules.Line("TEA-1", "tea", Decimal("100.00")),
             rules.Line("CUP-1", "cups", Decimal("50.50"))]
    rs = [rules.Rule("category", "tea", Decimal(2)), rules.Rule("product", "TEA-1", Decimal(3)),
          rules.Rule("campaign", "", Decimal(2), T0, T0 + dt.timedelta(days=7))]
    # TEA-1: product ×3 beats category ×2; cups ×1; campaign ×2; tier ×1.5
    in_campaign = rules.order_points(lines, rate=Decimal(1), rules=rs,
                                     tier_multiplier=Decimal("1.5"), at=T0)
    assert in_campaign == int((300 + Decimal("50.50")) * 2 * Decimal("1.5"))  # 1051
    after = rules.order_points(lines, rate=Decimal(1), rules=rs, tier_multiplier=Decimal(1),
                               at=T0 + dt.timedelta(days=8))
    assert after == 350
    assert rules.order_points(lines, rate=Decimal(1), rules=rs, tier_multiplier=Decimal(1),
                              at=T0 + dt.timedelta(days=8), cap_order=200) == 200
    assert rules.order_points(lines, rate=Decimal(1), rules=rs, tier_multiplier=Decimal(1),
                              at=T0 + dt.timedelta(days=8), room_today=30) == 30
    assert rules.order_points(lines, rate=Decimal(1), rules=rs, tier_multiplier=Decimal(1),
                              at=T0 + dt.timedelta(days=8), room_today=-5) == 0


def test_tier_for_takes_the_highest_threshold_reached():
    tiers = [(1, Decimal(0)), (2, Decimal(1000)), (3, Decimal(5000))]
    assert rules.tier_for(Decimal(0), tiers) == 1
    assert rules.tier_for(Decimal(999), tiers) == 1
    assert rules.tier_for(Decimal(1000), tiers) == 2
    assert rules.tier_for(Decimal(10**6), tiers) == 3
    assert rules.tier_for(Decimal(-1), tiers) is None


def test_review_upgrades_at_once_and_downgrades_after_the_grace_period():
    rank = {None: -1, 1: 0, 2: 1, 3: 2}
    grace = dt.timedelta(days=30)
    up = rules.review(current=1, qualified=3, rank=rank, downgrade_after=None, now=T0,
                      grace=grace)
    assert up == rules.TierDecision(3, None, True)
    # below the tier: grace starts, the tier stays
    first = rules.review(current=3, qualified=1, rank=rank, downgrade_after=None, now=T0,
                         grace=grace)
    assert first == rules.TierDecision(3, T0 + grace, False)
    # still below within the grace: nothing changes
    assert rules.review(current=3, qualified=2, rank=rank, downgrade_after=T0 + grace,
                        now=T0 + dt.timedelta(days=10), grace=grace
                        ) == rules.TierDecision(3, T0 + grace, False)
    # after the grace: down to what they qualify for (not further)
    assert rules.review(current=3, qualified=2, rank=rank, downgrade_after=T0 + grace,
                        now=T0 + grace, grace=grace) == rules.TierDecision(2, None, True)
    # qualifying again cancels the pending downgrade
    assert rules.review(current=3, qualified=3, rank=rank, downgrade_after=T0 + grace,
                        now=T0 + dt.timedelta(days=5), grace=grace
                        ) == rules.TierDecision(3, None, False)
