"""Data-subject requests (PIPL): a copy of everything Guanxi holds about a person, in their
language, as JSON or Excel; and erasure everywhere, with a receipt that holds no data."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from typing import Any

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guanxi.audit.services import log_action
from guanxi.core.errors import Conflict
from guanxi.core.permissions import Actor, require
from guanxi.core.privacy import (
    RetentionRule,
    erase_everywhere,
    register_retention,
    retention_rules,
)
from guanxi.core.spreadsheet import safe_cell
from guanxi.customers.models import Customer
from guanxi.customers.privacy import person_of
from guanxi.privacy.permissions import PrivacyAction
from guanxi.privacy.selectors import (
    inactive_customers,
    personal_data_sections,
    privacy_customer,
    retention_cutoff,
)


def personal_data_export(*, actor: Actor, customer_id: int) -> dict[str, Any]:
    """Everything Guanxi holds about the person, section by section (one per registered
    kind of personal data), labelled in the person's preferred language. Audited."""
    require(actor, PrivacyAction.REQUESTS)
    customer = privacy_customer(customer_id)
    language = customer.preferred_language or "zh-hans"
    sections = personal_data_sections(person_of(customer), language)
    with translation.override(language):
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
    if isinstance(value, dict | list):
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
    customer = privacy_customer(customer_id)
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


def _inactive_apply(cutoff: Any) -> int:
    done = 0
    for customer in inactive_customers(cutoff).iterator(chunk_size=500):
        _erase(None, customer, "retention: no activity")
        done += 1
    return done


def register_privacy_retention() -> None:
    register_retention(RetentionRule(
        "customers.inactive", gettext_lazy("Customers without activity"), "privacy",
        "GUANXI_RETAIN_INACTIVE_CUSTOMERS_YEARS", "years", gettext_lazy("anonymised"),
        lambda cutoff: inactive_customers(cutoff).count(), _inactive_apply))


def retention_run(*, now: dt.datetime | None = None) -> dict[str, int]:
    """The nightly job: apply every rule with a period; the report is an audit entry."""
    now = now or timezone.now()
    report = {}
    for rule in retention_rules():
        cutoff = retention_cutoff(rule, now)
        if cutoff is not None:
            with transaction.atomic():
                report[rule.name] = rule.apply(cutoff)
    log_action(actor=None, action="privacy.retention", object_type="privacy.retention",
               extra={"changed": report})
    return report

