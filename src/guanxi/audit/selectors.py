from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from guanxi.audit.models import AuditEntry
from guanxi.core.permissions import Action, require


def audit_list(*, actor: Any, customer_id: int | None = None) -> QuerySet[AuditEntry]:
    require(actor, Action.AUDIT_VIEW)
    qs = AuditEntry.objects.all()
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    return qs
