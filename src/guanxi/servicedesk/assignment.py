"""Who gets a ticket: its category's queue (else the first queue), and in that queue
round robin over the agents who are available, under their load cap and have the queue's
skill."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Count

from guanxi.servicedesk.models import ACTIVE, AgentProfile, Queue, Ticket


def _load() -> dict[int, int]:
    return dict(Ticket.objects.filter(status__in=ACTIVE, assignee__isnull=False)
                .values("assignee").annotate(n=Count("pk")).values_list("assignee", "n"))


def assign_next(queue: Queue) -> Any:
    """Round robin over the queue's agents (by user id, after the last one given a ticket),
    skipping agents who are off, at their load cap, or without the queue's skill."""
    with transaction.atomic():
        queue = Queue.objects.select_for_update().get(pk=queue.pk)
        agents = list(AgentProfile.objects.filter(queues=queue, available=True,
                                                  user__is_active=True)
                      .select_related("user").order_by("user_id"))
        load = _load()
        able = [a for a in agents if load.get(a.user_id, 0) < a.load_cap
                and (not queue.skill or queue.skill in (a.skills or []))]
        if not able:
            return None
        last = queue.last_assigned_id or 0
        chosen = next((a for a in able if a.user_id > last), able[0])
        Queue.objects.filter(pk=queue.pk).update(last_assigned=chosen.user_id)
        return chosen.user


def route(ticket: Ticket) -> None:
    """Put a new (unsaved) ticket in its category's queue, else the first queue, and give
    it to that queue's next agent."""
    queue = ticket.category.queue if ticket.category_id and ticket.category else None
    if queue is None:
        queue = Queue.objects.order_by("pk").first()
    ticket.queue = queue
    ticket.assignee = assign_next(queue) if queue is not None else None
