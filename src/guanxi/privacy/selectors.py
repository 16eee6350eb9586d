"""Reads for data-subject requests, the records of processing and retention. The privacy
officer sees every customer: a request may concern anyone."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from guanxi.core.errors import NotFound
from guanxi.core.permissions import Actor, require
from guanxi.core.privacy import (
    CATEGORY_LABELS,
    Person,
    RetentionRule,
    personal_data_sources,
    retention_rules,
)
from guanxi.customers.models import Customer, Event, Order
from guanxi.privacy.permissions import PrivacyAction


def privacy_customer(customer_id: int) -> Customer:
    """The customer a request is about (erased ones included), for callers that checked
    the permission."""
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(_("Customer not found"))
    return customer


def person_get(*, actor: Actor, customer_id: int) -> Customer:
    require(actor, PrivacyAction.REQUESTS)
    return privacy_customer(customer_id)


def personal_data_sections(person: Person, language: str) -> list[dict[str, Any]]:
    """One section per registered kind of personal data, labelled in `language`."""
    with translation.override(language):
        return [{"name": s.name, "label": str(s.label), "rows": s.export(person)}
                for s in personal_data_sources()]


def processing_records() -> list[dict[str, Any]]:
    """The records of processing: each kind of personal data, its fields by category, why
    it is kept and where it goes — generated from the apps' registrations."""
    return [{"name": s.name, "label": s.label, "app": s.app,
             "fields": [(f, CATEGORY_LABELS.get(c, c)) for f, c in sorted(s.fields.items())],
             "purposes": list(s.purposes),
             "recipients": list(s.recipients)} for s in personal_data_sources()]


def inactive_customers(cutoff: dt.datetime) -> QuerySet[Customer]:
    """Customers with nothing on their timeline and no order since `cutoff`."""
    recent = Event.objects.filter(occurred_at__gte=cutoff).values("customer_id")
    ordered = Order.objects.filter(placed_at__gte=cutoff).values("customer_id")
    return (Customer.objects.filter(erased_at__isnull=True, created_at__lt=cutoff)
            .exclude(pk__in=recent).exclude(pk__in=ordered))


def retention_cutoff(rule: RetentionRule, now: dt.datetime) -> dt.datetime | None:
    """What is older than this is due under `rule`; None when the period is 0 (kept)."""
    keep = int(getattr(settings, rule.setting, 0) or 0)
    if keep <= 0:
        return None
    return now - dt.timedelta(days=keep * (365 if rule.unit == "years" else 1))


def retention_preview(now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """What the retention job would do now: per rule, the period and how many are due."""
    now = now or timezone.now()
    out = []
    for rule in retention_rules():
        cutoff = retention_cutoff(rule, now)
        out.append({"name": rule.name, "label": rule.label, "action": rule.action,
                    "keep": getattr(settings, rule.setting, 0), "unit": rule.unit,
                    "setting": rule.setting, "cutoff": cutoff,
                    "due": rule.due(cutoff) if cutoff else 0})
    return out
