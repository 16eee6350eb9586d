"""Data-subject requests (PIPL): a copy of everything Guanxi holds about a person, in their
language, as JSON or Excel; and erasure everywhere, with a receipt that holds no data."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guanxi.audit.services import log_action
from guanxi.core.errors import Conflict, NotFound
from guanxi.core.permissions import Actor, require
from guanxi.core.privacy import (
    RetentionRule,
    erase_everywhere,
    personal_data_sources,
    register_retention,
    retention_rules,
)
from guanxi.customers.models import Customer, Event, Order
from guanxi.customers.privacy import person_of
from guanxi.privacy.permissions import PrivacyAction


def _customer(customer_id: int) -> Customer:
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(_("Customer not found"))
    return customer


def personal_data_export(*, actor: Actor, customer_id: int) -> dict[str, Any]:
    """Everything Guanxi holds about the person, section by section (one per registered
    kind of personal data), labelled in the person's preferred language. Audited."""
    require(actor, PrivacyAction.REQUESTS)
    customer = _customer(customer_id)
    person = person_of(customer)
    language = customer.preferred_language or "zh-hans"
    with translation.override(language):
        sections = [{"name": s.name, "label": str(s.label), "rows": s.export(person)}
                    for s in personal_data_sources()]
        title = _("Your personal data held by us")
    log_action(actor=actor, action="privacy.export", object_type="customers.customer",
               object_id=str(customer_id), customer_id=customer_id,
               extra={"sections": [s["name"] for s in sections]})
    return {"title": title, "customer_id": customer_id, "language": language,
            "generated_at": timezone.now().isoformat(), "sections": sections}


def _sheet_title(label: str, used: set[str]) -> str:
    title = re.sub(r"[\[\]:*?/\\]", " ", label)[:28] or "-"
    base, n = title, 2
    while title in used:
        title, n = f"{base} {n}", n + 1
    used.add(title)
    return title


def _cell(value: Any) -> Any:
    from guanxi.core.spreadsheet import safe_cell

    if isinstance(value, dict | list):
        import json

        value = json.dumps(value, ensure_ascii=False)
    return safe_cell(value) if isinstance(value, str) else value


def personal_data_xlsx(data: dict[str, Any]) -> bytes:
    """The export as a workbook: one sheet per section, a column per field."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    used: set[str] = set()
    for section in data["sections"]:
        sheet = book.create_sheet(_sheet_title(section["label"], used))
        columns: list[str] = []
        for row in section["rows"]:
            columns += [c for c in row if c not in columns]
        sheet.append(columns or ["—"])
        for row in section["rows"]:
            sheet.append([_cell(row.get(c)) for c in columns])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def person_erase(*, actor: Actor, customer_id: int, reason: str = "") -> dict[str, int]:
    """Erase the person's data everywhere Guanxi keeps it (each app's registered erasure,
    in one transaction); the customer row stays, anonymous, so order amounts and counts
    still add up. The receipt (an audit entry) says when, who, why and how much was
    erased, and nothing about the person."""
    require(actor, PrivacyAction.REQUESTS)
    customer = _customer(customer_id)
    if customer.erased_at is not None:
        raise Conflict(_("This person's data was already erased"), field_name="customer_id")
    return _erase(actor, customer, reason)


def _erase(actor: Actor, customer: Customer, reason: str) -> dict[str, int]:
    with transaction.atomic():
        counts = erase_everywhere(person_of(customer))
        log_action(actor=actor, action="privacy.erase", object_type="customers.customer",
                   object_id=str(customer.pk), customer_id=customer.pk,
                   extra={"erased": counts, "reason": reason[:200]})
    return counts


def _inactive_customers(cutoff: Any) -> Any:
    """Customers with nothing on their timeline and no order since `cutoff`."""
    recent = Event.objects.filter(occurred_at__gte=cutoff).values("customer_id")
    ordered = Order.objects.filter(placed_at__gte=cutoff).values("customer_id")
    return (Customer.objects.filter(erased_at__isnull=True, created_at__lt=cutoff)
            .exclude(pk__in=recent).exclude(pk__in=ordered))


def _inactive_apply(cutoff: Any) -> int:
    done = 0
    for customer in _inactive_customers(cutoff).iterator(chunk_size=500):
        _erase(None, customer, "retention: no activity")
        done += 1
    return done


def register_privacy_retention() -> None:
    register_retention(RetentionRule(
        "customers.inactive", gettext_lazy("Customers without activity"), "privacy",
        "GUANXI_RETAIN_INACTIVE_CUSTOMERS_YEARS", "years", gettext_lazy("anonymised"),
        lambda cutoff: _inactive_customers(cutoff).count(), _inactive_apply))


def _cutoff(rule: RetentionRule, now: dt.datetime) -> dt.datetime | None:
    keep = int(getattr(settings, rule.setting, 0) or 0)
    if keep <= 0:
        return None
    return now - dt.timedelta(days=keep * (365 if rule.unit == "years" else 1))


def retention_preview(now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """What the retention job would do now: per rule, the period and how many are due."""
    now = now or timezone.now()
    out = []
    for rule in retention_rules():
        cutoff = _cutoff(rule, now)
        out.append({"name": rule.name, "label": rule.label, "action": rule.action,
                    "keep": getattr(settings, rule.setting, 0), "unit": rule.unit,
                    "setting": rule.setting, "cutoff": cutoff,
                    "due": rule.due(cutoff) if cutoff else 0})
    return out


def retention_run(*, now: dt.datetime | None = None) -> dict[str, int]:
    """The nightly job: apply every rule with a period; the report is an audit entry."""
    now = now or timezone.now()
    report = {}
    for rule in retention_rules():
        cutoff = _cutoff(rule, now)
        if cutoff is not None:
            with transaction.atomic():
                report[rule.name] = rule.apply(cutoff)
    log_action(actor=None, action="privacy.retention", object_type="privacy.retention",
               extra={"changed": report})
    return report


def processing_records() -> list[dict[str, Any]]:
    """The records of processing: each kind of personal data, its fields by category, why
    it is kept and where it goes — generated from the apps' registrations."""
    return [{"name": s.name, "label": s.label, "app": s.app,
             "fields": sorted(s.fields.items()), "purposes": list(s.purposes),
             "recipients": list(s.recipients)} for s in personal_data_sources()]
