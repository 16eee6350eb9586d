"""The audit entries about a person, registered with core.privacy: copied out on an
access request, their values redacted on erasure (field names and references stay)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from guanxi.audit.models import AuditEntry
from guanxi.audit.services import audit_redact, audit_redact_where
from guanxi.core.privacy import Person, PersonalData, redact, register_personal_data


def _export(person: Person) -> list[dict[str, Any]]:
    ids = {person.customer_id, *person.other_ids}
    return [{"at": e.at.isoformat(), "who": e.actor_label, "action": e.action,
             "object": f"{e.object_type}:{e.object_id}", "changes": e.changes,
             "extra": e.extra}
            for e in AuditEntry.objects.filter(customer_id__in=ids).order_by("at", "id")]


def _erase(person: Person) -> int:
    return audit_redact(customer_ids={person.customer_id, *person.other_ids},
                        redact=lambda value: redact(value, person))


EXPIRED = "[expired]"


def _expire(value: Any) -> Any:
    """Keep the shape (field names, list lengths), drop the values."""
    if isinstance(value, dict):
        return {k: _expire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_expire(v) for v in value]
    return None if value is None else EXPIRED


def _old(cutoff: Any) -> Any:
    return AuditEntry.objects.filter(at__lt=cutoff, redacted_at__isnull=True)


def _expire_values(cutoff: Any) -> int:
    """Entries past the period keep who, when, what and which fields, not the values."""
    return audit_redact_where(_old(cutoff), redact=_expire)


def register_audit_personal_data() -> None:
    register_personal_data(PersonalData(
        "audit.entries", _("Audit entries"), "audit",
        {"changes": "record", "extra": "record"},
        [_("Accountability: who changed or exported what")], _export, _erase, order=30))
    from guanxi.core.privacy import RetentionRule, register_retention

    register_retention(RetentionRule(
        "audit.values", _("Values in audit entries"), "audit",
        "GUANXI_RETAIN_AUDIT_VALUES_YEARS", "years", _("anonymised"),
        lambda cutoff: _old(cutoff).count(), _expire_values))
