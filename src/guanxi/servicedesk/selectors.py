"""Reads of the service desk, scoped by the user: tickets of the customers they may see,
the agent's views (mine, unassigned, a queue, due soon, breached), SLA timers, the "% SLA
met" report, and what the 360 page and the home page show."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.core.errors import NotFound
from guanxi.core.masking import mask_email, mask_free_text
from guanxi.core.permissions import Actor, can, require, sees_masked
from guanxi.customers.selectors import visible_customers
from guanxi.servicedesk.models import (
    ACTIVE,
    Alert,
    FollowUpTask,
    SlaClock,
    Status,
    Ticket,
)
from guanxi.servicedesk.permissions import DeskAction


def mask_tickets(actor: Actor, tickets: Iterable[Any]) -> list[Any]:
    """Contacts and long numbers in subjects (and the reply address) hidden from roles
    that see personal data masked."""
    rows = list(tickets)
    if sees_masked(actor):
        for t in rows:
            t.subject = mask_free_text(t.subject)
            t.reply_to = mask_email(t.reply_to) if t.reply_to else ""
    return rows


def mask_texts(actor: Actor, rows: Iterable[Any], *fields: str) -> list[Any]:
    """The same for free-text fields of messages, survey comments and bot questions."""
    rows = list(rows)
    if sees_masked(actor):
        for row in rows:
            for name in fields:
                setattr(row, name, mask_free_text(getattr(row, name) or ""))
    return rows


VIEWS = ("mine", "unassigned", "open", "due_soon", "breached", "pending", "solved", "all")
DUE_SOON = dt.timedelta(hours=2)


def visible_tickets(actor: Actor) -> QuerySet[Ticket]:
    require(actor, DeskAction.VIEW)
    return Ticket.objects.filter(customer__in=visible_customers(actor))


def ticket_for_key(portal_key: str) -> Ticket:
    """The ticket of a portal link's key (the customer's, no account)."""
    ticket = Ticket.objects.filter(portal_key=portal_key).select_related("customer").first()
    if ticket is None:
        raise NotFound(_("Ticket not found"))
    return ticket


def ticket_get(actor: Actor, pk: int) -> Ticket | None:
    return (visible_tickets(actor).select_related("customer", "assignee", "queue",
                                                  "category", "sub_status", "sla_policy")
            .filter(pk=pk).first())


def _running(now: dt.datetime) -> Q:
    return Q(done_at__isnull=True, paused_at__isnull=True)


def tickets_view(actor: Actor, view: str = "mine", *, queue: int | None = None,
                 q: str = "", status: str = "", priority: str = "") -> QuerySet[Ticket]:
    now = timezone.now()
    qs = visible_tickets(actor).select_related("customer", "assignee", "queue", "category")
    if view == "mine":
        qs = qs.filter(assignee_id=getattr(actor, "pk", None), status__in=ACTIVE)
    elif view == "unassigned":
        qs = qs.filter(assignee__isnull=True, status__in=ACTIVE)
    elif view == "open":
        qs = qs.filter(status__in=ACTIVE)
    elif view == "pending":
        qs = qs.filter(status=Status.PENDING)
    elif view == "solved":
        qs = qs.filter(status__in=(Status.SOLVED, Status.CLOSED))
    elif view == "due_soon":
        qs = qs.filter(Exists(SlaClock.objects.filter(
            _running(now), ticket=OuterRef("pk"), due_at__gt=now, due_at__lte=now + DUE_SOON)))
    elif view == "breached":
        qs = qs.filter(status__in=ACTIVE).filter(Exists(SlaClock.objects.filter(
            ticket=OuterRef("pk"), done_at__isnull=True, breached_at__isnull=False)))
    if queue:
        qs = qs.filter(queue_id=queue)
    if status:
        qs = qs.filter(status=status)
    if priority:
        qs = qs.filter(priority=priority)
    if q.strip():
        term = q.strip()
        cond = Q(subject__icontains=term) | Q(customer__display_name__icontains=term)
        if term.lstrip("#").isdigit():
            cond |= Q(pk=int(term.lstrip("#")))
        qs = qs.filter(cond)
    return qs.order_by("-pk")


@dataclass(frozen=True)
class Timer:
    metric: str
    label: str
    due_at: dt.datetime
    paused: bool
    breached: bool
    seconds_left: int


def timers(ticket_ids: list[int]) -> dict[int, list[Timer]]:
    """The running (or paused) SLA clocks of these tickets, soonest first."""
    from guanxi.servicedesk.models import Metric

    now = timezone.now()
    labels = dict(Metric.choices)
    out: dict[int, list[Timer]] = {}
    for c in (SlaClock.objects.filter(ticket_id__in=ticket_ids, done_at__isnull=True)
              .order_by("due_at")):
        out.setdefault(c.ticket_id, []).append(Timer(
            c.metric, str(labels.get(c.metric, c.metric)), c.due_at, c.paused_at is not None,
            c.breached_at is not None or (c.paused_at is None and c.due_at <= now),
            int((c.due_at - now).total_seconds())))
    return out


def with_timers(tickets: list[Ticket]) -> list[Ticket]:
    """Each ticket with `timers`, its running (or paused) SLA clocks, soonest first."""
    found = timers([t.pk for t in tickets])
    for t in tickets:
        t.timers = found.get(t.pk, [])  # type: ignore[attr-defined]
    return tickets


def counts(actor: Actor) -> dict[str, int]:
    now = timezone.now()
    base = visible_tickets(actor)
    return {
        "mine": base.filter(assignee_id=getattr(actor, "pk", None), status__in=ACTIVE).count(),
        "unassigned": base.filter(assignee__isnull=True, status__in=ACTIVE).count(),
        "open": base.filter(status__in=ACTIVE).count(),
        "due_soon": base.filter(Exists(SlaClock.objects.filter(
            _running(now), ticket=OuterRef("pk"), due_at__gt=now,
            due_at__lte=now + DUE_SOON))).count(),
        "breached": base.filter(status__in=ACTIVE).filter(Exists(SlaClock.objects.filter(
            ticket=OuterRef("pk"), done_at__isnull=True, breached_at__isnull=False))).count(),
    }


# --- "% SLA met" --------------------------------------------------------------------------

GROUPS = ("team", "agent", "priority", "month", "metric")


def sla_report(actor: Actor, by: str = "month", *, since: dt.date | None = None,
               until: dt.date | None = None) -> list[dict[str, Any]]:
    """Targets measured (met or breached; clocks still running and not yet late are left
    out) and the share met, grouped by team, agent, priority, month or metric."""
    require(actor, DeskAction.VIEW)
    if by not in GROUPS:
        by = "month"
    now = timezone.now()
    clocks = SlaClock.objects.filter(ticket__customer__in=visible_customers(actor)).filter(
        Q(done_at__isnull=False) | Q(breached_at__isnull=False) | Q(
            paused_at__isnull=True, due_at__lte=now))
    if since:
        clocks = clocks.filter(started_at__date__gte=since)
    if until:
        clocks = clocks.filter(started_at__date__lte=until)
    key = {"team": "team__name", "agent": "agent__username", "priority": "priority",
           "month": "month", "metric": "metric"}[by]
    if by == "month":
        clocks = clocks.annotate(month=TruncMonth("started_at"))
    rows = (clocks.values(key).annotate(
        total=Count("pk"),
        met=Count("pk", filter=Q(done_at__isnull=False, breached_at__isnull=True)
                  & Q(done_at__lte=F("due_at")))).order_by(key))
    out = []
    for r in rows:
        label = r[key]
        if by == "month" and label is not None:
            label = label.strftime("%Y-%m")
        out.append({"group": label, "total": r["total"], "met": r["met"],
                    "percent": round(r["met"] / r["total"] * 100, 1) if r["total"] else None})
    return out


def survey_rows(actor: Actor) -> list[tuple[Any, int, int, float | None]]:
    """Each survey with how many were invited and answered, and its CSAT or NPS."""
    from guanxi.servicedesk.models import Invitation, Survey
    from guanxi.servicedesk.surveys import value_of

    require(actor, DeskAction.VIEW)
    invited = dict(Invitation.objects.values("survey").annotate(n=Count("pk"))
                   .values_list("survey", "n"))
    scores: dict[int, list[int]] = {}
    for survey_id, score in (Invitation.objects.filter(answered_at__isnull=False,
                                                       score__isnull=False)
                             .values_list("survey_id", "score")):
        if score is not None:
            scores.setdefault(survey_id, []).append(score)
    return [(s, invited.get(s.pk, 0), len(scores.get(s.pk, [])),
             value_of(s.kind, scores.get(s.pk, []))) for s in Survey.objects.all()]


# --- the 360 page and the home page -----------------------------------------------------

def customer_panel(actor: Actor, customer_id: int) -> dict[str, Any] | None:
    if not can(actor, DeskAction.VIEW):
        return None
    tickets = with_timers(mask_tickets(actor, Ticket.objects.filter(
        customer_id=customer_id, merged_into__isnull=True).select_related("assignee")
        .order_by("-pk")[:8]))
    from guanxi.servicedesk.models import Invitation

    scores = mask_texts(actor, Invitation.objects.filter(
        customer_id=customer_id, answered_at__isnull=False).select_related("survey")
        .order_by("-answered_at")[:3], "comment")
    return {"tickets": tickets, "customer_id": customer_id,
            "open": sum(t.status in ACTIVE for t in tickets),
            "complaints": Ticket.objects.filter(customer_id=customer_id,
                                                is_complaint=True).count(),
            "scores": scores, "can_open": can(actor, DeskAction.WORK)}


def home_due(actor: Actor) -> dict[str, Any] | None:
    """The agent's tickets due soon or breached, and their unread alerts."""
    if not can(actor, DeskAction.WORK):
        return None
    mine = visible_tickets(actor).filter(assignee_id=getattr(actor, "pk", None),
                                         status__in=ACTIVE)
    ids = list(mine.values_list("pk", flat=True)[:500])
    t = timers(ids)
    urgent = sorted(((tid, ts[0]) for tid, ts in t.items() if ts and not ts[0].paused),
                    key=lambda x: x[1].due_at)[:8]
    tickets = {x.pk: x for x in mask_tickets(
        actor, Ticket.objects.filter(pk__in=[tid for tid, _ in urgent]))}
    follow_ups = list(FollowUpTask.objects.filter(
        assignee_id=getattr(actor, "pk", 0) or 0, done_at__isnull=True,
        due_at__lte=timezone.now() + dt.timedelta(days=1)).select_related("ticket")[:5])
    alerts = list(Alert.objects.filter(user_id=getattr(actor, "pk", 0) or 0,
                                       read_at__isnull=True)[:5])
    return {"items": [(tickets[tid], timer) for tid, timer in urgent if tid in tickets],
            "follow_ups": follow_ups, "alerts": alerts, "counts": counts(actor)}
