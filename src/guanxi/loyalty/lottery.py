"""The points lottery's (积分抽奖) fairness, as pure functions: the seed commitment
published before the draw period, each ticket's outcome from the seed, and the prize it
wins under the published odds while stocks last.

- `commitment(seed)` = SHA-256 of the seed, published when the draw opens; the seed
  itself is revealed when it closes, and anyone can check it against the commitment.
- A ticket's number is HMAC-SHA256(seed, "draw:seq:customer") read as a 64-bit integer;
  its slot is that number modulo the total weight (the bias of a 64-bit modulus is below
  total / 2**64: nil for any real prize table), and the slot falls in one prize's weight.
  The seed is unknown to players and staff while the draw is open, and fixed before it.
- Published odds: each prize's weight over the total. A prize whose stock has run out
  wins nothing instead ("while stocks last", published with the odds), so no draw ever
  gives more than the stock and every other prize keeps its published odds.
- China's rules for prize promotions: the top prize may not be worth more than ¥50,000.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

TOP_PRIZE_LIMIT = Decimal("50000")


@dataclass(frozen=True)
class PrizeSpec:
    name: str
    weight: int
    stock: int | None = None  # None: unlimited
    value: Decimal = Decimal(0)  # what it is worth, in yuan


def commitment(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()


def ticket_number(seed: str, draw_id: int, seq: int, customer_id: int) -> int:
    digest = hmac.new(seed.encode(), f"{draw_id}:{seq}:{customer_id}".encode(),
                      hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big")


def slot_prize(weights: Sequence[int], number: int) -> int:
    """The index of the prize whose weight holds the ticket's slot."""
    total = sum(weights)
    if total <= 0:
        raise ValueError("the prize table has no weight")
    slot = number % total
    for index, weight in enumerate(weights):
        if slot < weight:
            return index
        slot -= weight
    raise AssertionError("unreachable")


def check_table(prizes: Sequence[PrizeSpec]) -> list[str]:
    """What is wrong with a prize table (empty when it may be published)."""
    problems = []
    if not prizes or sum(p.weight for p in prizes) <= 0:
        problems.append("weights")
    if any(p.weight < 0 for p in prizes):
        problems.append("weights")
    if any(p.value > TOP_PRIZE_LIMIT for p in prizes):
        problems.append("top_prize")
    if any(p.stock is not None and p.stock < 0 for p in prizes):
        problems.append("stock")
    return problems


def odds(prizes: Sequence[PrizeSpec]) -> list[float]:
    total = sum(p.weight for p in prizes)
    return [p.weight / total for p in prizes]


def play(prizes: Sequence[PrizeSpec], won: list[int], seed: str, draw_id: int, seq: int,
         customer_id: int) -> int | None:
    """The prize ticket `seq` wins (an index), or None when its prize has run out;
    `won` (per prize, updated) is what was given so far."""
    index = slot_prize([p.weight for p in prizes],
                       ticket_number(seed, draw_id, seq, customer_id))
    stock = prizes[index].stock
    if stock is not None and won[index] >= stock:
        return None
    won[index] += 1
    return index
