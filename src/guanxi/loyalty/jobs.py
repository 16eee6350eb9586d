"""The programme's batch work over every member: points expiry and the tier review.
Both are set-based (a few statements per chunk of members, not a transaction per member)
so a million members take seconds, and both are safe to run twice: expiry takes only
what is still in lots past their date, the review only changes members whose tier or
pending downgrade differs from the rules' answer.

Each chunk is one transaction holding its members' rows (FOR UPDATE on PostgreSQL, the
single writer on SQLite), so it cannot interleave with a redemption of the same member."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from guanxi.audit.services import log_action
from guanxi.core.bulk import insert_objects
from guanxi.loyalty import rules
from guanxi.loyalty.models import (
    Account,
    Entry,
    Journal,
    JournalKind,
    Lot,
    LotUse,
    Member,
)
from guanxi.loyalty.services import (
    QUALIFYING_KINDS,
    programme_get,
    qualifying_since,
    tier_apply,
    tiers_ranked,
)
from guanxi.timeline.services import NewEvent, events_append_many

CHUNK = 5000
Progress = Callable[[int, int], None]


def _lock(member_ids: list[int]) -> None:
    if connection.vendor == "postgresql" and member_ids:
        list(Member.objects.select_for_update().filter(pk__in=member_ids).order_by("pk")
             .values_list("pk", flat=True))


def points_expire(*, now: dt.datetime | None = None, progress: Progress | None = None
                  ) -> int:
    """Move every lot's points past its expiry date to the `expired` account: one
    journal and one timeline event per member. Returns the points expired."""
    now = now or timezone.now()
    member_ids = sorted(set(Lot.objects.filter(expires_at__lte=now, remaining__gt=0)
                            .values_list("member_id", flat=True)))
    total = 0
    for start in range(0, len(member_ids), CHUNK):
        total += _expire_chunk(member_ids[start:start + CHUNK], now)
        if progress:
            progress(min(start + CHUNK, len(member_ids)), len(member_ids))
    if total:
        log_action(actor=None, action="loyalty.expire", object_type="loyalty.programme",
                   changes={"points": [None, total]}, extra={"members": len(member_ids)})
    return total


def _expire_chunk(ids: list[int], now: dt.datetime) -> int:
    with transaction.atomic():
        _lock(ids)
        lots = list(Lot.objects.filter(member_id__in=ids, expires_at__lte=now,
                                       remaining__gt=0)
                    .values_list("pk", "member_id", "remaining"))
        if not lots:
            return 0
        per_member: dict[int, int] = {}
        for _pk, member_id, remaining in lots:
            per_member[member_id] = per_member.get(member_id, 0) + remaining
        customers = dict(Member.objects.filter(pk__in=per_member).values_list(
            "pk", "customer_id"))
        journals = [Journal(member_id=m, kind=JournalKind.EXPIRE, points=-p, created_at=now)
                    for m, p in per_member.items()]
        Journal.objects.bulk_create(journals, batch_size=2000)
        by_member = {j.member_id: j.pk for j in journals}
        insert_objects(Entry, [{"journal": j.pk, "account": a, "points": p,
                                "member": j.member_id if a == Account.MEMBER else None}
                               for j in journals
                               for a, p in ((Account.MEMBER, j.points),
                                            (Account.EXPIRED, -j.points))])
        insert_objects(LotUse, [{"journal": by_member[m], "lot": pk, "points": r}
                                for pk, m, r in lots])
        with connection.cursor() as c:
            c.executemany(f"UPDATE {Lot._meta.db_table} SET remaining = 0 WHERE id = %s",
                          [(pk,) for pk, _m, _r in lots])
            c.executemany(f"UPDATE {Member._meta.db_table} SET balance = balance - %s "
                          "WHERE id = %s", [(p, m) for m, p in per_member.items()])
        events_append_many([NewEvent(customer_id=customers[m], kind="points_expired",
                                     occurred_at=now, data={"points": p})
                            for m, p in per_member.items()])
    return sum(per_member.values())


def _qualifying(ids: list[int], since: dt.datetime) -> dict[int, Decimal]:
    from django.db.models import Sum

    prog = programme_get()
    if prog.qualify_on == "spend":
        from guanxi.customers.models import Order, OrderStatus

        customers = dict(Member.objects.filter(pk__in=ids).values_list("customer_id", "pk"))
        spent = (Order.objects.filter(customer_id__in=customers, status=OrderStatus.PAID,
                                      placed_at__gte=since)
                 .values_list("customer_id").annotate(s=Sum("total")))
        return {customers[c]: Decimal(s or 0) for c, s in spent}
    rows = (Journal.objects.filter(member_id__in=ids, created_at__gte=since,
                                   kind__in=QUALIFYING_KINDS)
            .values_list("member_id").annotate(s=Sum("points")))
    return {m: Decimal(s or 0) for m, s in rows}


def tiers_review(*, now: dt.datetime | None = None, progress: Progress | None = None
                 ) -> dict[str, int]:
    """The periodic review of every member: upgrades at once, downgrades after the grace
    period (rules.review). Returns how many went up, down, and into grace."""
    now = now or timezone.now()
    prog = programme_get()
    since = qualifying_since(prog, now)
    grace = dt.timedelta(days=prog.grace_days)
    tiers, rank = tiers_ranked()
    if not tiers:
        return {"up": 0, "down": 0, "grace": 0}
    counts = {"up": 0, "down": 0, "grace": 0}
    last, total = 0, Member.objects.count()
    seen = 0
    while True:
        ids = list(Member.objects.filter(pk__gt=last).order_by("pk")
                   .values_list("pk", flat=True)[:CHUNK])
        if not ids:
            break
        last = ids[-1]
        _review_chunk(ids, now, since, grace, tiers, rank, counts)
        seen += len(ids)
        if progress:
            progress(seen, total)
    return counts


def _review_chunk(ids: list[int], now: dt.datetime, since: dt.datetime,
                  grace: dt.timedelta, tiers: list[tuple[int, Decimal]],
                  rank: dict[int | None, int], counts: dict[str, int]) -> None:
    with transaction.atomic():
        _lock(ids)
        values = _qualifying(ids, since)
        grace_rows: list[tuple[dt.datetime | None, int]] = []
        changed: list[tuple[int, rules.TierDecision]] = []
        for pk, tier_id, after in Member.objects.filter(pk__in=ids).values_list(
                "pk", "tier_id", "downgrade_after"):
            decision = rules.review(current=tier_id,
                                    qualified=rules.tier_for(values.get(pk, Decimal(0)),
                                                             tiers),
                                    rank=rank, downgrade_after=after, now=now, grace=grace)
            if decision.changed:
                changed.append((pk, decision))
            elif decision.downgrade_after != after:
                grace_rows.append((decision.downgrade_after, pk))
                counts["grace"] += decision.downgrade_after is not None
        if grace_rows:
            adapt = connection.ops.adapt_datetimefield_value
            with connection.cursor() as c:
                c.executemany(f"UPDATE {Member._meta.db_table} SET downgrade_after = %s "
                              "WHERE id = %s", [(adapt(a), pk) for a, pk in grace_rows])
        # Tier changes are few: each goes through the one path that writes the timeline
        # and the audit (Tier names resolved there).
        decisions = dict(changed)
        for member in Member.objects.filter(pk__in=decisions):
            decision = decisions[member.pk]
            up = rank.get(decision.tier_id, -1) > rank.get(member.tier_id, -1)
            counts["up" if up else "down"] += 1
            tier_apply(member, decision, None)

