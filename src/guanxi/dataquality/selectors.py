"""Reads of the data-quality app, restricted to what the acting user may see."""

from __future__ import annotations

from typing import Any

import pandas as pd
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from guanxi.core.errors import NotFound
from guanxi.core.permissions import Actor, require
from guanxi.customers.models import Address, Customer, Identity, IdentityKind, SearchTerm
from guanxi.customers.selectors import visible_customers
from guanxi.dataquality.models import (
    ImportJob,
    ImportPreset,
    MatchCandidate,
    MatchStatus,
    Merge,
    ResolutionRun,
    TagRule,
)
from guanxi.dataquality.permissions import DataAction


def customer_match_records(batch: int = 50_000) -> pd.DataFrame:
    """Every customer as one row of matching fields (system job: no actor scope)."""
    columns: dict[str, list[Any]] = {k: [] for k in (
        "id", "family_name", "given_name", "birthday", "region")}
    for row in Customer.objects.order_by("pk").values_list(
            "pk", "family_name", "given_name", "birthday", "region").iterator(batch):
        for key, value in zip(columns, row, strict=True):
            columns[key].append(value)
    frame = pd.DataFrame(columns)
    frame["birthday"] = frame["birthday"].map(lambda d: d.isoformat() if d else None)
    for kind, name in ((IdentityKind.EMAIL, "email"), (IdentityKind.PHONE, "phone"),
                       (IdentityKind.EXTERNAL, "external_id")):
        first: dict[int, str] = {}
        for customer_id, value in Identity.objects.filter(kind=kind).order_by(
                "-is_primary", "-verified", "pk").values_list("customer_id", "value"
                                                              ).iterator(batch):
            first.setdefault(customer_id, value)
        frame[name] = frame["id"].map(first)
    addresses: dict[int, tuple[str, str, str, str]] = {}
    for customer_id, *parts in Address.objects.order_by("-is_primary", "pk").values_list(
            "customer_id", "street", "city", "postcode", "province").iterator(batch):
        addresses.setdefault(customer_id, tuple(parts))  # type: ignore[arg-type]
    for i, name in enumerate(("street", "city", "postcode", "province")):
        frame[name] = frame["id"].map(lambda pk, i=i: (addresses.get(pk) or ("",) * 4)[i])
    frame["region"] = frame["province"].where(frame["province"].astype(bool),
                                              frame["region"])
    return frame.drop(columns=["province"])


def candidate_list(*, actor: Actor, status: str = MatchStatus.PENDING
                   ) -> QuerySet[MatchCandidate]:
    require(actor, DataAction.CUSTOMER_MERGE)
    visible = visible_customers(actor)
    return (MatchCandidate.objects.filter(status=status, left__in=visible, right__in=visible)
            .select_related("left", "right").order_by("-probability", "pk"))


def candidates_for_customer(*, actor: Actor, customer_id: int) -> list[MatchCandidate]:
    """Pairs waiting for review that include this customer (shown on the 360 page)."""
    return list(candidate_list(actor=actor).filter(
        Q(left_id=customer_id) | Q(right_id=customer_id))[:5])


def candidate_get(*, actor: Actor, candidate_id: int) -> MatchCandidate:
    require(actor, DataAction.CUSTOMER_MERGE)
    visible = visible_customers(actor)
    candidate = (MatchCandidate.objects.filter(pk=candidate_id, left__in=visible,
                                               right__in=visible)
                 .select_related("left", "right").first())
    if candidate is None:
        raise NotFound("Pair not found")
    return candidate


def merge_list(*, actor: Actor, customer_id: int | None = None) -> QuerySet[Merge]:
    require(actor, DataAction.CUSTOMER_MERGE)
    merges = Merge.objects.select_related("merged_by", "undone_by").order_by("-merged_at")
    if customer_id is not None:
        merges = merges.filter(Q(survivor_number=customer_id) | Q(absorbed_number=customer_id))
    return merges


def merge_get(*, actor: Actor, merge_id: int) -> Merge:
    merge = merge_list(actor=actor).filter(pk=merge_id).first()
    if merge is None:
        raise NotFound("Merge not found")
    return merge


def possible_duplicates(*, actor: Actor, family_name: str = "", given_name: str = "",
                        full_name: str = "", emails: tuple[str, ...] = (),
                        phones: tuple[str, ...] = (), birthday: Any = None,
                        limit: int = 5) -> list[Customer]:
    """Existing customers a new record may duplicate: the same email or phone, or the
    same name (any spelling: characters, traditional, pinyin either way round) with no
    conflicting birthday. Shown before a customer is created."""
    from guanxi.dataquality.matching import email_key, phone_key
    from guanxi.dataquality.standardize import person_name

    visible = visible_customers(actor)
    found: dict[int, Customer] = {}
    values = [v for v in (email_key(e) for e in emails) if v]
    digits = [p for p in (phone_key(p) for p in phones) if p]
    identity_q = Q(kind=IdentityKind.EMAIL, value__in=values) | Q(
        kind=IdentityKind.PHONE, value__in=["+" + d for d in digits])
    if values or digits:
        for c in visible.filter(pk__in=Identity.objects.filter(identity_q).values(
                "customer_id"))[:limit]:
            found[c.pk] = c
    name = person_name(full_name, family_name, given_name)
    if name.family_key and name.given_key and len(found) < limit:
        keys = {name.family_key + name.given_key, name.given_key + name.family_key}
        by_name = visible.filter(pk__in=SearchTerm.objects.filter(
            term__in=[f"n:{k}" for k in keys]).values("customer_id"))
        if birthday:
            by_name = by_name.filter(Q(birthday__isnull=True) | Q(birthday=birthday))
        for c in by_name.order_by("-pk")[:limit]:
            found.setdefault(c.pk, c)
    return list(found.values())[:limit]


def candidate_side(*, customer: Customer) -> dict[str, Any]:
    """What the review page shows of one customer of a pair (already permission-checked
    through candidate_get)."""
    return {
        "customer": customer,
        "identities": list(customer.identities.all()),
        "addresses": list(customer.addresses.all()),
        "orders": customer.orders.count(),
        "tags": list(customer.tag_links.values_list("tag__name", flat=True)),
    }


def resolution_run_get(*, actor: Actor, run_id: int | None = None) -> ResolutionRun | None:
    """One identity-resolution run, or the latest when no id is given."""
    require(actor, DataAction.CUSTOMER_MERGE)
    runs = ResolutionRun.objects.select_related("created_by")
    return runs.filter(pk=run_id).first() if run_id is not None else runs.first()


def import_list(*, actor: Actor, limit: int = 50, name: str = "") -> list[ImportJob]:
    require(actor, DataAction.DATA_IMPORT)
    jobs = ImportJob.objects.select_related("created_by")
    if name:
        jobs = jobs.filter(original_name__icontains=name)
    return list(jobs[:limit])


def import_get(*, actor: Actor, job_id: int) -> ImportJob:
    require(actor, DataAction.DATA_IMPORT)
    job = ImportJob.objects.filter(pk=job_id).first()
    if job is None:
        raise NotFound(_("Import not found"))
    return job


def preset_list(*, actor: Actor, kind: str) -> QuerySet[ImportPreset]:
    require(actor, DataAction.DATA_IMPORT)
    return ImportPreset.objects.filter(kind=kind)


def preset_get(*, actor: Actor, preset_id: int | None = None, name: str = ""
               ) -> ImportPreset:
    require(actor, DataAction.DATA_IMPORT)
    preset = (ImportPreset.objects.filter(pk=preset_id).first() if preset_id is not None
              else ImportPreset.objects.filter(name=name).first())
    if preset is None:
        raise NotFound(_("No such preset"))
    return preset


def tag_rule_list(*, actor: Actor) -> QuerySet[TagRule]:
    """The automatic tag rules, for the people who may change them."""
    require(actor, DataAction.DATA_IMPORT)
    return TagRule.objects.order_by("tag", "pk")


def tag_rule_get(*, actor: Actor, rule_id: int) -> TagRule:
    rule = tag_rule_list(actor=actor).filter(pk=rule_id).first()
    if rule is None:
        raise NotFound("Tag rule not found")
    return rule
