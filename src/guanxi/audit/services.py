"""log_action(): the one way an audit entry is written."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

from django.db import models
from django.utils import timezone

from guanxi.audit.chain import entry_digest
from guanxi.audit.models import AuditEntry
from guanxi.core.bulk import insert_objects
from guanxi.core.permissions import Actor


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[Any]]:
    """Field -> [old, new] for the fields whose value changed."""
    return {k: [_plain(old.get(k)), _plain(new[k])] for k in new if old.get(k) != new[k]}


def log_action(*, actor: Actor, action: str, obj: models.Model | None = None,
               customer_id: int | None = None, changes: dict[str, Any] | None = None,
               extra: dict[str, Any] | None = None, object_type: str = "",
               object_id: str = "") -> AuditEntry:
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        if customer_id is None and obj._meta.label_lower == "customers.customer":
            customer_id = obj.pk
    values = {"at": timezone.now(), "actor_id": getattr(actor, "pk", None),
              "actor_label": getattr(actor, "username", None) or "system",
              "action": action, "object_type": object_type, "object_id": object_id,
              "customer_id": customer_id, "changes": _plain(changes or {}),
              "extra": _plain(extra or {})}
    return AuditEntry.objects.create(**values, digest=entry_digest(values))


def log_actions(*, actor: Actor, action: str, entries: list[tuple[models.Model, dict[str, Any]]]
                ) -> None:
    """One audit entry per (customer object, changes), written in one statement: the bulk
    paths (imports) record exactly what log_action would, one row each."""
    label = getattr(actor, "username", None) or "system"
    now = timezone.now()
    rows = [
        {"at": now, "actor_id": getattr(actor, "pk", None), "actor_label": label,
         "action": action, "object_type": obj._meta.label_lower, "object_id": str(obj.pk),
         "customer_id": obj.pk if obj._meta.label_lower == "customers.customer"
         else getattr(obj, "customer_id", None),
         "changes": _plain(changes), "extra": {}}
        for obj, changes in entries]
    insert_objects(AuditEntry, [{**row, "digest": entry_digest(row)} for row in rows])


def audit_redact(*, customer_ids: set[int], redact: Any) -> int:
    """Erasure: replace the person's values in the entries about `customer_ids`
    (`redact(value) -> value`), keeping who, when, what action and which fields."""
    return audit_redact_where(AuditEntry.objects.filter(customer_id__in=customer_ids),
                              redact=redact)


def audit_redact_where(entries: models.QuerySet[AuditEntry], *, redact: Any) -> int:
    """Replace the values of `entries` (`redact(value) -> value`), marking them redacted:
    erasure and retention, the only writers allowed to touch an entry's values."""
    changed = 0
    plain: models.QuerySet[AuditEntry] = models.QuerySet(AuditEntry)  # not append-only
    for entry in entries.order_by("id").iterator(chunk_size=2000):
        changes, extra = redact(entry.changes), redact(entry.extra)
        if changes != entry.changes or extra != entry.extra:
            plain.filter(pk=entry.pk).update(changes=changes, extra=extra,
                                             redacted_at=timezone.now())
            changed += 1
    return changed
