"""Automatic tags: rules on customer attributes, kept in sync on import and on change."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone

from guanxi.customers.models import Customer, IdentityKind
from guanxi.customers.services import tags_apply_automatic
from guanxi.dataquality.models import TagRule


def customer_attribute(customer: Customer, name: str, *, today: dt.date | None = None
                       ) -> Any:
    """The value a rule looks at; None when the customer has none."""
    today = today or timezone.localdate()
    if name.startswith("attributes."):
        return (customer.attributes or {}).get(name.split(".", 1)[1])
    if name in ("age", "birth_year"):
        if not customer.birthday:
            return None
        b = customer.birthday
        if name == "birth_year":
            return b.year
        return today.year - b.year - ((today.month, today.day) < (b.month, b.day))
    if name in ("city", "province"):
        address = next(iter(sorted(customer.addresses.all(),
                                   key=lambda a: (not a.is_primary, a.pk))), None)
        return getattr(address, name, None) or None
    if name == "email_domain":
        for identity in customer.identities.all():
            if identity.kind == IdentityKind.EMAIL:
                return identity.value.rsplit("@", 1)[-1]
        return None
    if name == "company":
        return customer.company.name if customer.company is not None else None
    if name in ("region", "gender", "source", "occupation", "preferred_channel",
                "preferred_language"):
        return getattr(customer, name) or None
    raise ValueError(f"unknown attribute {name!r}")


def _number(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def rule_matches(operator: str, expected: str, value: Any) -> bool:
    """Pure: does `value` satisfy `operator expected`? Text compares case-insensitively."""
    if operator == TagRule.Operator.PRESENT:
        return value not in (None, "")
    if operator == TagRule.Operator.EMPTY:
        return value in (None, "")
    if value in (None, ""):
        return False
    text, want = str(value).strip().lower(), expected.strip().lower()
    if operator == TagRule.Operator.EQUALS:
        return text == want
    if operator == TagRule.Operator.CONTAINS:
        return want in text
    if operator == TagRule.Operator.IN:
        return text in {w.strip() for w in want.split(",")}
    a, b = _number(value), _number(expected)
    if a is None or b is None:
        return False
    return a >= b if operator == TagRule.Operator.GTE else a <= b


def autotags_apply(customer: Customer, rules: list[TagRule] | None = None
                   ) -> tuple[list[str], list[str]]:
    """Add the rule tags the customer now qualifies for and remove the ones they no longer
    do (a tag with rules belongs to the rules). Returns (added, removed) tag names."""
    rules = list(TagRule.objects.filter(active=True)) if rules is None else rules
    if not rules:
        return [], []
    wanted: dict[str, bool] = {}
    for rule in rules:
        try:
            value = customer_attribute(customer, rule.attribute)
        except ValueError:
            continue
        # Several rules for one tag: any of them suffices.
        wanted[rule.tag] = wanted.get(rule.tag, False) or rule_matches(
            rule.operator, rule.value, value)
    return tags_apply_automatic(
        customer=customer, add=[n for n, qualifies in wanted.items() if qualifies],
        remove=[n for n, qualifies in wanted.items() if not qualifies])


def autotags_apply_many(customers: list[Customer]) -> None:
    """autotags_apply for a batch, reading the rules once."""
    rules = list(TagRule.objects.filter(active=True))
    if rules:
        for customer in customers:
            autotags_apply(customer, rules)


def autotags_apply_all(batch: int = 500) -> int:
    """System job: re-evaluate every customer, batch by batch of ids."""
    from django.db import transaction

    rules = list(TagRule.objects.filter(active=True))
    # A deactivated or deleted rule's tag is only removed while another rule keeps the
    # tag managed; tags nobody manages any more stay as they are.
    changed, last = 0, 0
    while True:
        customers = list(Customer.objects.filter(pk__gt=last).order_by("pk")
                         .prefetch_related("addresses", "identities")
                         .select_related("company")[:batch])
        if not customers:
            return changed
        with transaction.atomic():
            for customer in customers:
                added, removed = autotags_apply(customer, rules)
                changed += bool(added or removed)
        last = customers[-1].pk
