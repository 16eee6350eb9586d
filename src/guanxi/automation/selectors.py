"""Reads of automations, scoped by the reader's permissions."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet

from guanxi.analytics.segments import compile_rules
from guanxi.automation.models import Automation, Run, RunStatus, StepLog
from guanxi.automation.permissions import AutomationAction
from guanxi.core.errors import NotFound
from guanxi.core.permissions import Actor, require
from guanxi.customers.models import Customer
from guanxi.customers.selectors import visible_customers


def automation_list(*, actor: Actor, status: str = "") -> QuerySet[Automation]:
    """Automations with their run counts: enrolled, active (in progress or waiting),
    completed and goal reached."""
    require(actor, AutomationAction.VIEW)
    query = Automation.objects.select_related("live").annotate(
        enrolled=Count("runs", filter=Q(runs__test=False)),
        active=Count("runs", filter=Q(runs__status__in=[RunStatus.ACTIVE, RunStatus.WAITING])),
        completed=Count("runs", filter=Q(runs__status=RunStatus.COMPLETED)),
        goal_reached=Count("runs", filter=Q(runs__status=RunStatus.GOAL)))
    query = query.filter(status=status) if status else query.exclude(status="archived")
    return query.order_by("name")


def automation_get(*, actor: Actor, automation_id: int) -> Automation:
    require(actor, AutomationAction.VIEW)
    found = Automation.objects.select_related("live").filter(pk=automation_id).first()
    if found is None:
        raise NotFound("Automation not found")
    return found


def step_counts(automation: Automation) -> dict[str, dict[str, int]]:
    """{step id: {outcome: runs}} over every version's runs (the funnel)."""
    out: dict[str, dict[str, int]] = {}
    rows = (StepLog.objects.filter(automation=automation).values("step", "outcome")
            .annotate(n=Count("pk")))
    for row in rows:
        out.setdefault(row["step"], {})[row["outcome"]] = row["n"]
    return out


def status_counts(automation: Automation) -> dict[str, int]:
    return dict(Run.objects.filter(automation=automation, test=False).values_list("status")
                .annotate(n=Count("pk")).values_list("status", "n"))


def runs_recent(*, actor: Actor, automation: Automation, limit: int = 50) -> list[Run]:
    require(actor, AutomationAction.VIEW)
    visible = visible_customers(actor).values("pk")
    return list(Run.objects.filter(automation=automation, customer_id__in=visible)
                .select_related("customer", "version").order_by("-pk")[:limit])


def who_would_enter(*, actor: Actor, conditions: dict[str, Any], sample: int = 10
                    ) -> tuple[int, list[Any]]:
    """How many of the customers the actor can see meet entry conditions now, and a few
    of them."""
    require(actor, AutomationAction.VIEW)
    query = visible_customers(actor).filter(erased_at__isnull=True)
    if conditions:
        query = query.filter(compile_rules(conditions))
    return query.count(), list(query.order_by("-pk")[:sample])


def runs_of_customer(*, actor: Actor, customer_id: int) -> list[Run]:
    """The automations a customer is in or went through (the 360 panel)."""
    require(actor, AutomationAction.VIEW)
    return list(Run.objects.filter(customer_id=customer_id, test=False)
                .select_related("automation").order_by("-entered_at")[:20])


def who_would_enter_one(*, automation: Automation, customer: Any) -> bool:
    """Whether one customer meets the entry conditions now."""
    query = Customer.objects.filter(pk=customer.pk, erased_at__isnull=True)
    if automation.conditions:
        query = query.filter(compile_rules(automation.conditions))
    return query.exists()
