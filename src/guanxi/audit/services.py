"""log_action(): the one way an audit entry is written."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from django.db import models
from django.utils import timezone

from guanxi.audit.chain import entry_digest
from guanxi.audit.models import AuditEntry
from guanxi.audit.selectors import audit_entries
from guanxi.core.bulk import insert_objects
from guanxi.core.jsonable import jsonable
from guanxi.core.permissions import Actor
from guanxi.core.spreadsheet import safe_cell


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[Any]]:
    """Field -> [old, new] for the fields whose value changed."""
    return {k: [jsonable(old.get(k)), jsonable(new[k])] for k in new if old.get(k) != new[k]}


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
              "customer_id": customer_id, "changes": jsonable(changes or {}),
              "extra": jsonable(extra or {})}
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
         "changes": jsonable(changes), "extra": {}}
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


EXPORT_COLUMNS = ("id", "at", "who", "action", "object_type", "object_id", "customer_id",
                  "changes", "extra", "redacted_at", "chain")


def audit_log_export(*, actor: Actor, **filters: Any) -> Iterator[list[Any]]:
    """The entries the filters select (audit_entries' filters) as rows, header first;
    the export itself is audited before the first row leaves."""
    entries = audit_entries(actor=actor, **filters)
    log_action(actor=actor, action="audit.export", object_type="audit.auditentry",
               extra={"filters": {k: str(v) for k, v in filters.items()}})
    yield list(EXPORT_COLUMNS)
    for e in entries.iterator(chunk_size=2000):
        yield [e.pk, e.at.isoformat(), safe_cell(e.actor_label), e.action, e.object_type,
               safe_cell(e.object_id), e.customer_id or "",
               safe_cell(json.dumps(e.changes, ensure_ascii=False)),
               safe_cell(json.dumps(e.extra, ensure_ascii=False)),
               e.redacted_at.isoformat() if e.redacted_at else "", e.chain]
