"""Reads of the audit log, for managers and administrators."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet

from guanxi.audit.models import AuditEntry
from guanxi.audit.permissions import AuditAction
from guanxi.core.permissions import Actor, require


def audit_entries(*, actor: Actor, who: str = "", customer_id: int | None = None,
                  action: str = "", since: dt.date | None = None,
                  until: dt.date | None = None) -> QuerySet[AuditEntry]:
    """The entries matching the filters, newest first: `who` is the actor's user name,
    `action` an action or its prefix ("customer." for every customer action), `since` and
    `until` whole days in the business time zone."""
    require(actor, AuditAction.AUDIT_VIEW)
    qs = AuditEntry.objects.order_by("-at", "-id")
    if who:
        qs = qs.filter(actor_label=who)
    if customer_id:
        qs = qs.filter(customer_id=customer_id)
    if action:
        qs = qs.filter(action=action) if not action.endswith(".") else qs.filter(
            action__startswith=action)
    if since:
        qs = qs.filter(at__date__gte=since)
    if until:
        qs = qs.filter(at__date__lte=until)
    return qs


def audit_actions() -> list[str]:
    return list(AuditEntry.objects.order_by("action").values_list("action", flat=True)
                .distinct())
