"""The audit entries about a person, registered with core.privacy: copied out on an
access request, their values redacted on erasure (field names and references stay)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from guanxi.audit.models import AuditEntry
from guanxi.audit.services import audit_redact
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


def register_audit_personal_data() -> None:
    register_personal_data(PersonalData(
        "audit.entries", _("Audit entries"), "audit",
        {"changes": "record", "extra": "record"},
        [_("Accountability: who changed or exported what")], _export, _erase, order=30))
