"""The points ledger's one write path: every movement is a journal of entries that sum
to zero, posted together with the member's running balances and the lots the points sit
in. Callers (services.py) lock the member first and pass it in; nothing else writes
these tables.

Accounts: `member` (the customer's points; the sum of its entries is the balance, and
equals what is left in the member's lots), `reserved` (held for a payment), `debt`
(points a refund took back after they were spent: negative while owed), and the
programme's `liability` (points issued: negative by what is outstanding or was used),
`redeemed` and `expired`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db.models import F
from django.utils import timezone

from guanxi.core.permissions import Actor
from guanxi.loyalty.models import (
    Account,
    Entry,
    Journal,
    Lot,
    LotUse,
    Member,
)
from guanxi.loyalty.rules import take_lots

Move = tuple[str, int]  # (account, points): member accounts are the journal's member's


def post(member: Member, kind: str, moves: Sequence[Move], *, points: int,
         order_id: int | None = None, reason: str = "", actor: Actor | None = None,
         at: dt.datetime | None = None) -> Journal:
    """Write one balanced journal and apply it to the member's balances (the member row
    is locked by the caller and saved here)."""
    moves = [(a, p) for a, p in moves if p]
    if sum(p for _a, p in moves) != 0:
        raise AssertionError(f"unbalanced journal {kind}: {moves}")
    journal = Journal.objects.create(member=member, kind=kind, points=points,
                                     order_id=order_id, reason=reason[:200],
                                     actor_id=getattr(actor, "pk", None),
                                     created_at=at or timezone.now())
    own = {Account.MEMBER, Account.RESERVED, Account.DEBT}
    Entry.objects.bulk_create([Entry(journal=journal, account=a,
                                     member=member if a in own else None, points=p)
                               for a, p in moves])
    change = {a: sum(p for b, p in moves if b == a) for a in own}
    member.balance += change[Account.MEMBER]
    member.reserved += change[Account.RESERVED]
    member.debt -= change[Account.DEBT]
    Member.objects.filter(pk=member.pk).update(balance=member.balance,
                                               reserved=member.reserved, debt=member.debt)
    return journal


def add_lot(member: Member, journal: Journal, points: int,
            expires_at: dt.datetime | None) -> Lot | None:
    if points <= 0:
        return None
    return Lot.objects.create(member=member, journal=journal, points=points, remaining=points,
                              expires_at=expires_at, created_at=journal.created_at)


def consume(member: Member, journal: Journal, points: int, *,
            first: Sequence[int] = ()) -> int:
    """Take `points` from the member's lots, the lots in `first` before the others, then
    those that expire first; record what was taken. Returns the points taken (fewer
    than asked only if the lots hold fewer)."""
    lots = list(Lot.objects.filter(member=member, remaining__gt=0)
                .values_list("pk", "remaining", "expires_at"))
    preferred = [lot for lot in lots if lot[0] in first]
    others = [lot for lot in lots if lot[0] not in first]
    taken: list[tuple[int, int]] = []
    left = points
    for group in (preferred, others):
        available = min(left, sum(r for _i, r, _e in group))
        if available:
            taken += take_lots(group, available)
            left -= available
    for lot_id, used in taken:
        Lot.objects.filter(pk=lot_id).update(remaining=F("remaining") - used)
    LotUse.objects.bulk_create([LotUse(journal=journal, lot_id=i, points=p) for i, p in taken])
    return points - left


def restore(journal: Journal, into: Journal) -> int:
    """Give back to their lots the points `journal` took (a released reservation)."""
    uses = list(LotUse.objects.filter(journal=journal))
    for use in uses:
        Lot.objects.filter(pk=use.lot_id).update(remaining=F("remaining") + use.points)
    LotUse.objects.bulk_create([LotUse(journal=into, lot_id=u.lot_id, points=-u.points)
                                for u in uses])
    return sum(u.points for u in uses)
