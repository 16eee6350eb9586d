"""The lottery's fairness: outcomes follow the published odds (chi-square), stock is
never exceeded, the revealed seed reproduces every result, the top-prize limit holds."""

from __future__ import annotations

import secrets
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import chisquare

from guanxi.loyalty import lottery
from guanxi.loyalty.lottery import PrizeSpec

TABLE = [PrizeSpec("一等奖 茶具", 1, None, Decimal("2000")),
         PrizeSpec("二等奖 100积分", 20), PrizeSpec("三等奖 10元券", 179),
         PrizeSpec("谢谢参与", 800)]


def test_outcomes_follow_the_published_odds():
    seed = "fixed-seed-for-the-test"
    counts = [0] * len(TABLE)
    n = 40_000
    for seq in range(n):
        counts[lottery.slot_prize([p.weight for p in TABLE],
                                  lottery.ticket_number(seed, 7, seq, seq % 97))] += 1
    expected = [n * p for p in lottery.odds(TABLE)]
    assert chisquare(counts, expected).pvalue > 0.001


@given(st.lists(st.integers(0, 30), min_size=1, max_size=5), st.integers(1, 400))
def test_stock_is_never_exceeded_and_the_seed_replays(stocks, tickets):
    prizes = [PrizeSpec(f"p{i}", 1 + i, s) for i, s in enumerate(stocks)]
    seed = secrets.token_hex(16)
    won = [0] * len(prizes)
    results = [lottery.play(prizes, won, seed, 3, seq, 11) for seq in range(tickets)]
    assert all(w <= p.stock for w, p in zip(won, prizes, strict=True) if p.stock is not None)
    replay_won = [0] * len(prizes)
    assert [lottery.play(prizes, replay_won, seed, 3, seq, 11)
            for seq in range(tickets)] == results
    assert lottery.commitment(seed) == lottery.commitment(seed) != lottery.commitment(
        seed + "x")


def test_the_top_prize_limit_and_table_checks():
    assert lottery.check_table(TABLE) == []
    assert lottery.check_table([PrizeSpec("汽车", 1, 1, Decimal("50000.01"))]) == [
        "top_prize"]
    assert lottery.check_table([PrizeSpec("x", 0)]) == ["weights"]
