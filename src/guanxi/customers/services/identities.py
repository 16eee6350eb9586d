"""Contacts and ids of a customer (email, phone, WeChat, external ids) and the search
terms derived from them and the name."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from pydantic import BaseModel, Field

from guanxi.audit.services import log_action
from guanxi.core.errors import Conflict, InvalidInput
from guanxi.core.permissions import Actor
from guanxi.customers import search
from guanxi.customers.hooks import run_after_change
from guanxi.customers.models import (
    Customer,
    Identity,
    IdentityKind,
    SearchTerm,
)
from guanxi.customers.normalize import normalize_email, normalize_phone
from guanxi.customers.permissions import CustomerAction
from guanxi.customers.selectors import customer_is_visible
from guanxi.customers.services.access import _check
from guanxi.customers.services.timeline import event_record

IDENTITY_VALUE_MAX = int(getattr(Identity._meta.get_field("value"), "max_length", 200))


class IdentityInput(BaseModel):
    """A contact or id as every writer gives it (API body, import row, Python)."""

    kind: str = Field(description="email, phone, wechat_openid, wechat_unionid or external")
    value: str = Field(min_length=1, max_length=IDENTITY_VALUE_MAX)
    system: str = Field("", max_length=Identity._meta.get_field("system").max_length,
                        description="source system for external ids")
    verified: bool = False


def normalize_identity(kind: str, value: str, *, field_name: str = "value") -> str:
    if kind == IdentityKind.EMAIL:
        return normalize_email(value, field=field_name)
    if kind == IdentityKind.PHONE:
        return normalize_phone(value, field=field_name)
    if kind not in IdentityKind.values:
        raise InvalidInput.single("kind", _("Unknown identity kind"), kind)
    cleaned = value.strip()
    if not cleaned:
        raise InvalidInput.single(field_name, _("This field cannot be empty"), value)
    return cleaned


def _identity_conflict(actor: Actor, kind: str, system: str, value: str,
                       field_name: str) -> Conflict | None:
    existing = (Identity.objects.select_related("customer")
                .filter(kind=kind, system=system, value=value).first())
    if existing is None:
        return None
    owner = existing.customer
    if customer_is_visible(actor, owner):
        message = _("%(value)s already belongs to customer #%(id)s %(name)s") % {
            "value": value, "id": owner.pk, "name": owner.display_name}
    else:
        message = _("%(value)s already belongs to customer #%(id)s") % {
            "value": value, "id": owner.pk}
    return Conflict(message, field_name=field_name,
                    extra={"existing_customer_id": owner.pk})


def refresh_search_terms(customer: Customer) -> None:
    identities = list(customer.identities.values_list("kind", "value"))
    terms = search.terms_for(
        family_name=customer.family_name, given_name=customer.given_name,
        display_name=customer.display_name,
        emails=[v for k, v in identities if k == IdentityKind.EMAIL],
        phones=[v for k, v in identities if k == IdentityKind.PHONE])
    SearchTerm.objects.filter(customer=customer).delete()
    SearchTerm.objects.bulk_create([SearchTerm(customer=customer, term=t) for t in terms])


def identity_keys_q(keys: Sequence[tuple[str, str, str]]) -> Q:
    """Identities matching any (kind, system, value): one IN list per kind and system,
    which the database answers from the unique index and Django compiles quickly."""
    groups: dict[tuple[str, str], list[str]] = {}
    for kind, system, value in keys:
        groups.setdefault((kind, system), []).append(value)
    query = Q(pk__in=[])
    for (kind, system), values in groups.items():
        query |= Q(kind=kind, system=system, value__in=values)
    return query


def identity_add(*, actor: Actor, customer: Customer, kind: str, value: str, system: str = "",
                 verified: bool = False) -> Identity:
    _check(actor, CustomerAction.IDENTITY_CHANGE, customer)
    normalized = normalize_identity(kind, value)
    system = system.strip()
    if conflict := _identity_conflict(actor, kind, system, normalized, "value"):
        raise conflict
    try:
        with transaction.atomic():
            is_first = not customer.identities.filter(kind=kind).exists()
            identity = Identity.objects.create(customer=customer, kind=kind, system=system,
                                               value=normalized, verified=verified,
                                               is_primary=is_first)
            refresh_search_terms(customer)
            run_after_change(customer)
            # The contact itself stays out of the timeline (a reference instead), so
            # masking and erasure reach it.
            event_record(customer=customer, kind="identity_added", actor=actor,
                         data={"kind": kind, "system": system, "identity_id": identity.pk})
            log_action(actor=actor, action="identity.add", obj=identity,
                       customer_id=customer.pk, changes={"value": [None, normalized]})
    except IntegrityError as exc:
        raise Conflict(_("This contact was just added to another customer"),
                       field_name="value") from exc
    return identity


def identity_remove(*, actor: Actor, identity: Identity) -> None:
    customer = identity.customer
    _check(actor, CustomerAction.IDENTITY_CHANGE, customer)
    with transaction.atomic():
        log_action(actor=actor, action="identity.remove", obj=identity,
                   customer_id=customer.pk, changes={"value": [identity.value, None]})
        identity_id = identity.pk
        identity.delete()
        refresh_search_terms(customer)
        run_after_change(customer)
        event_record(customer=customer, kind="identity_removed", actor=actor,
                     data={"kind": identity.kind, "system": identity.system,
                           "identity_id": identity_id})


def identity_update(*, actor: Actor, identity: Identity, value: str | None = None,
                    is_primary: bool | None = None) -> Identity:
    """Correct a contact's value (normalised and checked like a new one) and/or make it the
    customer's primary one of its kind; the value stays out of the timeline (a reference
    instead) and goes to the audit log."""
    customer = identity.customer
    _check(actor, CustomerAction.IDENTITY_CHANGE, customer)
    changes: dict[str, list[Any]] = {}
    if value is not None:
        normalized = normalize_identity(identity.kind, value)
        if normalized != identity.value:
            if conflict := _identity_conflict(actor, identity.kind, identity.system, normalized,
                                              "value"):
                raise conflict
            changes["value"] = [identity.value, normalized]
    if is_primary and not identity.is_primary:
        changes["is_primary"] = [False, True]
    if not changes:
        return identity
    try:
        with transaction.atomic():
            if "is_primary" in changes:
                Identity.objects.filter(customer=customer, kind=identity.kind).exclude(
                    pk=identity.pk).update(is_primary=False)
                identity.is_primary = True
            if "value" in changes:
                identity.value = changes["value"][1]
            identity.save(update_fields=["value", "is_primary"])
            refresh_search_terms(customer)
            run_after_change(customer)
            event_record(customer=customer, kind="identity_changed", actor=actor,
                         data={"kind": identity.kind, "system": identity.system,
                               "identity_id": identity.pk})
            log_action(actor=actor, action="identity.change", obj=identity,
                       customer_id=customer.pk, changes=changes)
    except IntegrityError as exc:
        raise Conflict(_("This contact was just added to another customer"),
                       field_name="value") from exc
    return identity
