"""What Guanxi itself does to a ticket when it escalates: alerts to staff, the team's
managers, one step up in priority, the next agent of the queue — each audited as the
system (automation actions and the closed loop call these)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone

from guanxi.audit.services import log_action
from guanxi.servicedesk import assignment, clocks
from guanxi.servicedesk.models import PRIORITY_ORDER, Alert, Priority, Ticket


def team_managers(ticket: Ticket) -> list[Any]:
    """The managers of the ticket's team (its queue's), or every manager when the team
    has none."""
    from guanxi.accounts.models import User
    from guanxi.core.permissions import Role

    managers = User.objects.filter(is_active=True, role=Role.MANAGER)
    team = ticket.queue.team if ticket.queue_id and ticket.queue else None
    if team is not None and managers.filter(team=team).exists():
        managers = managers.filter(team=team)
    return list(managers)


def alert_team(ticket: Ticket, text: str) -> int:
    """Alert the team's managers and the ticket's assignee."""
    return alert_users([*team_managers(ticket), *([ticket.assignee] if ticket.assignee
                                                   else [])], ticket, text)


def alert_users(users: Sequence[Any], ticket: Ticket | None, text: str) -> int:
    """An alert on each user's home page (once per user)."""
    seen: set[int] = set()
    rows = []
    for user in users:
        if user.pk not in seen:
            seen.add(user.pk)
            rows.append(Alert(user=user, ticket=ticket, text=text[:300]))
    Alert.objects.bulk_create(rows)
    return len(rows)


def raise_priority(ticket: Ticket) -> Ticket:
    """One step up (an escalation)."""
    i = PRIORITY_ORDER.index(Priority(ticket.priority))
    if i + 1 < len(PRIORITY_ORDER):
        ticket = _system_update(ticket, priority=PRIORITY_ORDER[i + 1])
    return ticket


def _system_update(ticket: Ticket, **changes: Any) -> Ticket:
    """Guanxi's own change to a ticket (an escalation): audited as the system."""
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        old = {k: getattr(ticket, k if k != "assignee" else "assignee_id") for k in changes}
        for k, v in changes.items():
            setattr(ticket, k, v)
        ticket.save()
        if "priority" in changes:
            clocks.reprioritise(ticket, timezone.now())
        log_action(actor=None, action="ticket.escalate", obj=ticket,
                   customer_id=ticket.customer_id,
                   changes={k: [old[k], getattr(v, "pk", v)] for k, v in changes.items()})
    return ticket


def reassign(ticket: Ticket) -> Ticket:
    """Give the ticket to the next agent of its queue (an escalation)."""
    if ticket.queue is None:
        return ticket
    user = assignment.assign_next(ticket.queue)
    if user is None or user.pk == ticket.assignee_id:
        return ticket
    return _system_update(ticket, assignee=user)
