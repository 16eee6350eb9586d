"""Reads of the audit log, for managers and administrators."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

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


EXPORT_COLUMNS = ("id", "at", "who", "action", "object_type", "object_id", "customer_id",
                  "changes", "extra", "redacted_at", "chain")


def audit_export_rows(qs: QuerySet[AuditEntry]) -> Iterator[list[Any]]:
    import json

    from guanxi.core.spreadsheet import safe_cell

    yield list(EXPORT_COLUMNS)
    for e in qs.iterator(chunk_size=2000):
        yield [e.pk, e.at.isoformat(), safe_cell(e.actor_label), e.action, e.object_type,
               safe_cell(e.object_id), e.customer_id or "",
               safe_cell(json.dumps(e.changes, ensure_ascii=False)),
               safe_cell(json.dumps(e.extra, ensure_ascii=False)),
               e.redacted_at.isoformat() if e.redacted_at else "", e.chain]
