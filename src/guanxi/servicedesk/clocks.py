"""SLA clocks: which policy a ticket falls under, starting, pausing, resuming and
stopping its clocks, and the scan that raises warnings and breaches.

A clock's deadline is computed with the desk's business calendar (sla.BusinessCalendar)
when its policy counts business hours, else around the clock. While the ticket waits for
the customer every running clock is paused; on resuming, the working time it had left
is added to the moment it resumes. The scan (every 30 s, in the worker's watchdog) reads
only clocks due — two index range scans — and writes `sla_warning` / `sla_breached`
events on the customer's timeline, which automations act on (notify, reassign, raise
priority). Outside the desk's working hours it waits, unless the policy says otherwise.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from guanxi.servicedesk.models import (
    DeskSettings,
    Metric,
    SlaClock,
    SlaPolicy,
    Ticket,
)
from guanxi.servicedesk.sla import BusinessCalendar
from guanxi.timeline.services import NewEvent, events_append_many

DEFAULT_HOURS = {d: [["09:00", "12:00"], ["13:00", "18:00"]] for d in range(5)}
ALWAYS = {d: [["00:00", "24:00"]] for d in range(7)}
SCAN_LIMIT = 5000


def desk_settings() -> DeskSettings:
    row = DeskSettings.objects.order_by("pk").first()
    if row is None:
        row = DeskSettings.objects.create(hours=DEFAULT_HOURS)
    return row


@lru_cache(maxsize=8)
def _calendar(hours: str, tz: str, region: str, closures: str) -> BusinessCalendar:
    import json

    return BusinessCalendar(
        {int(k): [tuple(i) for i in v] for k, v in json.loads(hours).items()}, tz=tz,
        region=region or None,
        closures=[dt.date.fromisoformat(d) for d in json.loads(closures)])


def calendar(settings: DeskSettings | None = None, *, business_hours: bool = True
             ) -> BusinessCalendar:
    import json

    s = settings or desk_settings()
    if not business_hours:
        return _calendar(json.dumps(ALWAYS), s.tz, "", "[]")
    return _calendar(json.dumps(s.hours or DEFAULT_HOURS, sort_keys=True), s.tz, s.region,
                     json.dumps(sorted(s.closures or [])))


def _tier(customer_id: int) -> str:
    from guanxi.analytics.models import CustomerScore

    return CustomerScore.objects.filter(customer_id=customer_id).values_list(
        "tier", flat=True).first() or ""


def policy_for(ticket: Ticket) -> SlaPolicy | None:
    """The most specific active policy matching the ticket's priority, category and the
    customer's value tier (a blank field matches anything), then the lowest `order`."""
    tier = _tier(ticket.customer_id)
    best: tuple[int, int, int] | None = None
    chosen = None
    for p in SlaPolicy.objects.filter(active=True):
        if (p.priority and p.priority != ticket.priority) or (
                p.category_id and p.category_id != ticket.category_id) or (
                p.tier and p.tier != tier):
            continue
        key = (-(bool(p.priority) + bool(p.category_id) + bool(p.tier)), p.order, p.pk)
        if best is None or key < best:
            best, chosen = key, p
    return chosen


def _minutes(policy: SlaPolicy, metric: str) -> int | None:
    return {Metric.FIRST_RESPONSE: policy.first_response_minutes,
            Metric.NEXT_RESPONSE: policy.next_response_minutes,
            Metric.RESOLUTION: policy.resolution_minutes}[metric]  # type: ignore[index]


def _deadlines(policy: SlaPolicy, start: dt.datetime, minutes: float
               ) -> tuple[dt.datetime, dt.datetime]:
    cal = calendar(business_hours=policy.business_hours)
    due = cal.add(start, dt.timedelta(minutes=minutes))
    warn = cal.add(start, dt.timedelta(minutes=max(0.0, minutes - policy.warn_minutes)))
    return due, warn


def start(ticket: Ticket, metric: str, at: dt.datetime) -> SlaClock | None:
    """Start the ticket's clock for `metric` (if its policy sets a target and none runs)."""
    policy = ticket.sla_policy
    if policy is None:
        return None
    minutes = _minutes(policy, metric)
    if not minutes or SlaClock.objects.filter(ticket=ticket, metric=metric,
                                              done_at__isnull=True).exists():
        return None
    due, warn = _deadlines(policy, at, minutes)
    team_id = ticket.queue.team_id if ticket.queue_id and ticket.queue else None
    return SlaClock.objects.create(ticket=ticket, metric=metric, started_at=at, due_at=due,
                                   warn_at=warn, priority=ticket.priority, team_id=team_id,
                                   paused_at=at if ticket.status == "pending" else None)


def stop(ticket: Ticket, metrics: Iterable[str], at: dt.datetime, agent_id: int | None
         ) -> int:
    """The targets were met (or no longer apply) at `at`."""
    return SlaClock.objects.filter(ticket=ticket, metric__in=list(metrics),
                                   done_at__isnull=True).update(done_at=at, paused_at=None,
                                                                agent_id=agent_id)


def pause(ticket: Ticket, at: dt.datetime) -> int:
    return SlaClock.objects.filter(ticket=ticket, done_at__isnull=True,
                                   paused_at__isnull=True).update(paused_at=at)


def resume(ticket: Ticket, at: dt.datetime) -> int:
    """Each paused clock gets the working time it had left when paused, from `at`."""
    n = 0
    for clock in SlaClock.objects.filter(ticket=ticket, done_at__isnull=True,
                                         paused_at__isnull=False):
        policy = ticket.sla_policy
        cal = calendar(business_hours=policy.business_hours if policy else True)
        paused = clock.paused_at
        assert paused is not None
        clock.due_at = cal.resume(clock.due_at, paused, at)
        clock.warn_at = cal.resume(clock.warn_at, paused, at)
        clock.paused_at = None
        clock.save(update_fields=["due_at", "warn_at", "paused_at"])
        n += 1
    return n


def reprioritise(ticket: Ticket, at: dt.datetime) -> None:
    """The ticket's priority or category changed: its policy may be another one; running
    clocks keep their start and get the new targets."""
    policy = policy_for(ticket)
    Ticket.objects.filter(pk=ticket.pk).update(sla_policy=policy)
    ticket.sla_policy = policy
    for clock in SlaClock.objects.filter(ticket=ticket, done_at__isnull=True):
        minutes = _minutes(policy, clock.metric) if policy else None
        if not minutes or policy is None:
            clock.delete()
            continue
        clock.due_at, clock.warn_at = _deadlines(policy, clock.started_at, minutes)
        clock.priority = ticket.priority
        clock.save(update_fields=["due_at", "warn_at", "priority"])


# --- the scan ---------------------------------------------------------------------------

def _event(clock: SlaClock, ticket: dict[str, Any], kind: str, now: dt.datetime
           ) -> NewEvent:
    return NewEvent(customer_id=ticket["customer_id"], kind=kind, occurred_at=now,
                    data={"ticket": clock.ticket_id, "metric": clock.metric,
                          "due_at": clock.due_at.isoformat(), "priority": ticket["priority"]},
                    source="servicedesk", idempotency_key=f"{kind}:{clock.pk}")


def scan(now: dt.datetime | None = None, *, limit: int = SCAN_LIMIT) -> dict[str, int]:
    """Raise the warnings and breaches due by `now`: each once (the row is marked in the
    same transaction as its event; the event's idempotency key guards a second worker)."""
    now = now or timezone.now()
    running = Q(done_at__isnull=True, paused_at__isnull=True)
    warn = list(SlaClock.objects.filter(running, warn_at__lte=now, warned_at__isnull=True,
                                        due_at__gt=now)
                .select_related("ticket__sla_policy")[:limit])
    breach = list(SlaClock.objects.filter(running, due_at__lte=now, breached_at__isnull=True)
                  .select_related("ticket__sla_policy")[:limit])
    if not warn and not breach:
        return {"warned": 0, "breached": 0}
    working = calendar().is_working(now)
    events: list[NewEvent] = []
    warned: list[int] = []
    breached: list[int] = []
    for clocks, kind, done in ((warn, "sla_warning", warned), (breach, "sla_breached",
                                                               breached)):
        for clock in clocks:
            t = clock.ticket
            anytime = t.sla_policy.escalate_anytime if t.sla_policy else False
            if not working and not anytime:
                continue  # the morning's scan raises it
            events.append(_event(clock, {"customer_id": t.customer_id,
                                         "priority": t.priority}, kind, now))
            done.append(clock.pk)
    with transaction.atomic():
        if warned:
            SlaClock.objects.filter(pk__in=warned).update(warned_at=now)
        if breached:
            SlaClock.objects.filter(pk__in=breached).update(breached_at=now)
        events_append_many(events, skip_duplicates=True)
    return {"warned": len(warned), "breached": len(breached)}
