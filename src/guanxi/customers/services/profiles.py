"""Customers themselves: create (one by one and in bulk), change, delete, export."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.audit.services import diff, log_action, log_actions
from guanxi.core.errors import Conflict, FieldError, InvalidInput, PreconditionFailed
from guanxi.core.permissions import Actor, is_team_scoped, require, staff
from guanxi.core.spreadsheet import safe_cell
from guanxi.customers import search
from guanxi.customers.hooks import run_after_change, run_after_change_many
from guanxi.customers.models import (
    Address,
    Channel,
    Company,
    Customer,
    CustomerTag,
    Gender,
    Identity,
    IdentityKind,
    Language,
    SearchTerm,
    Source,
    Tag,
)
from guanxi.customers.names import display_name as compose_display_name
from guanxi.customers.names import person_name
from guanxi.customers.normalize import normalize_email, normalize_phone
from guanxi.customers.permissions import CustomerAction
from guanxi.customers.selectors import customer_search
from guanxi.customers.services.access import _check
from guanxi.customers.services.addresses import AddressInput, _address_create, _address_errors
from guanxi.customers.services.identities import (
    IdentityInput,
    _identity_conflict,
    identity_keys_q,
    normalize_identity,
    refresh_search_terms,
)
from guanxi.customers.services.tags import _tag_link
from guanxi.customers.services.timeline import event_record
from guanxi.timeline.services import NewEvent, events_append_many

PROFILE_FIELDS = ("family_name", "given_name", "display_name", "gender", "birthday",
                  "lunar_birthday", "region", "occupation", "preferred_language",
                  "preferred_channel", "source", "attributes", "company")


def _split_name(full_name: str) -> tuple[str, str]:
    """Chinese surname first, pinyin either way round, 'Family, Given', Western names:
    the same rules imports use (customers.names.person_name)."""
    name = person_name(full_name)
    return name.family, name.given


def _validate_profile(values: dict[str, Any]) -> list[FieldError]:
    errors: list[FieldError] = []
    choices = {"gender": Gender.values, "preferred_language": Language.values,
               "preferred_channel": [*Channel.values, ""], "source": Source.values}
    for name, allowed in choices.items():
        if name in values and values[name] not in allowed:
            errors.append(FieldError(name, _("Choose one of: %(choices)s")
                                     % {"choices": ", ".join(a for a in allowed if a)},
                                     values[name]))
    birthday = values.get("birthday")
    if birthday is not None and (birthday > timezone.localdate()
                                 or birthday < dt.date(1900, 1, 1)):
        errors.append(FieldError("birthday", _("Birthday must be between 1900 and today"),
                                 str(birthday)))
    if "attributes" in values and not isinstance(values["attributes"], dict):
        errors.append(FieldError("attributes", _("Custom attributes must be an object")))
    return errors


def customer_create(*, actor: Actor, full_name: str = "", family_name: str = "",
                    given_name: str = "", display_name: str = "",
                    emails: Sequence[str] = (), phones: Sequence[str] = (),
                    identities: Sequence[IdentityInput] = (), tags: Sequence[str] = (),
                    addresses: Sequence[AddressInput] = (), company_name: str = "",
                    owner: Any = None, **profile: Any) -> Customer:
    require(actor, CustomerAction.CUSTOMER_CREATE)
    unknown = set(profile) - set(PROFILE_FIELDS)
    if unknown:
        raise TypeError(f"unknown customer fields: {sorted(unknown)}")
    if full_name and not (family_name or given_name):
        family_name, given_name = _split_name(full_name)
    family_name, given_name = family_name.strip(), given_name.strip()
    errors = _validate_profile(profile)
    if not (family_name or given_name or display_name.strip()):
        errors.append(FieldError("family_name", _("A customer needs a name")))

    wanted: list[tuple[str, str, str, bool, str]] = []  # kind, system, value, verified, field
    for i, email in enumerate(emails):
        try:
            wanted.append((IdentityKind.EMAIL, "", normalize_email(email, field=f"emails.{i}"),
                           False, f"emails.{i}"))
        except InvalidInput as exc:
            errors.extend(exc.errors)
    for i, phone in enumerate(phones):
        try:
            wanted.append((IdentityKind.PHONE, "", normalize_phone(phone, field=f"phones.{i}"),
                           False, f"phones.{i}"))
        except InvalidInput as exc:
            errors.extend(exc.errors)
    for i, ident in enumerate(identities):
        path = f"identities.{i}.value"
        try:
            wanted.append((ident.kind, ident.system.strip(),
                           normalize_identity(ident.kind, ident.value, field_name=path),
                           ident.verified, path))
        except InvalidInput as exc:
            errors.extend(exc.errors)
    for i, address in enumerate(addresses):
        errors.extend(_address_errors(address, f"addresses.{i}."))
    if errors:
        raise InvalidInput(errors)
    seen: set[tuple[str, str, str]] = set()
    for kind, system, value, _v, path in wanted:
        if (kind, system, value) in seen:
            raise InvalidInput.single(path, _("Listed twice"), value)
        seen.add((kind, system, value))
        if conflict := _identity_conflict(actor, kind, system, value, path):
            raise conflict

    if owner is None and is_team_scoped(actor):
        owner = actor  # otherwise a salesperson could create a customer they cannot see
    elif (owner is not None and is_team_scoped(actor) and owner.pk != actor.pk
          and not (actor.team_id and owner.team_id == actor.team_id)):
        raise PermissionDenied(_("You can give a new customer only to yourself or to "
                                 "someone in your team"))
    customer = Customer(
        family_name=family_name, given_name=given_name,
        display_name=display_name.strip() or compose_display_name(family_name, given_name),
        owner=owner, **profile)
    try:
        with transaction.atomic():
            if company_name.strip():
                customer.company = company_get_or_create(actor=actor, name=company_name)
            customer.save()
            for address in addresses:
                _address_create(actor, customer, address)
            kinds_seen: set[str] = set()
            for kind, system, value, verified, _path in wanted:
                Identity.objects.create(customer=customer, kind=kind, system=system,
                                        value=value, verified=verified,
                                        is_primary=kind not in kinds_seen)
                kinds_seen.add(kind)
            refresh_search_terms(customer)
            for name in tags:
                _tag_link(actor, customer, name)
            run_after_change(customer)
            event_record(customer=customer, kind="customer_created", actor=actor,
                         source=customer.source)
            log_action(actor=actor, action="customer.create", obj=customer,
                       changes=diff({}, {f: getattr(customer, f) for f in
                                         ("display_name", "family_name", "given_name",
                                          "region", "source")}
                                    | {"identities": [w[2] for w in wanted]}))
    except IntegrityError as exc:  # a concurrent insert of the same identity
        raise Conflict(_("One of these contacts was just added to another customer")) from exc
    return customer


@dataclass
class NewCustomer:
    """A customer for customers_bulk_create, with contacts already normalised."""

    family_name: str
    given_name: str
    display_name: str = ""
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    identities: list[IdentityInput] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    address: AddressInput | None = None
    company_name: str = ""
    profile: dict[str, Any] = field(default_factory=dict)


def customers_bulk_create(*, actor: Actor, customers: Sequence[NewCustomer],
                          source: str = Source.IMPORT) -> list[Customer]:
    """Create many customers in a few statements, each with exactly what customer_create
    writes (identities, address, tags, search terms, timeline event, audit entry).
    All or nothing: any invalid profile or contact already taken raises, and the caller
    falls back to one customer_create per row to say which."""
    require(actor, CustomerAction.CUSTOMER_CREATE)
    errors: list[FieldError] = []
    keys: list[tuple[str, str, str]] = []
    for i, new in enumerate(customers):
        errors.extend(FieldError(f"{i}.{e.field}", e.message, e.value)
                      for e in _validate_profile({**new.profile, "source": source}))
        keys += [(IdentityKind.EMAIL, "", e) for e in new.emails]
        keys += [(IdentityKind.PHONE, "", p) for p in new.phones]
        keys += [(i_.kind, i_.system, i_.value) for i_ in new.identities]
    if errors:
        raise InvalidInput(errors)
    if len(set(keys)) != len(keys):
        raise Conflict(_("The same contact appears twice"))
    if keys and Identity.objects.filter(identity_keys_q(keys)).exists():
        raise Conflict(_("One of these contacts already belongs to a customer"))
    owner = actor if is_team_scoped(actor) else None
    now = timezone.now()
    with transaction.atomic():
        companies = {name: company_get_or_create(actor=actor, name=name)
                     for name in {n.company_name.strip() for n in customers} if name}
        objs = [Customer(family_name=n.family_name, given_name=n.given_name,
                         display_name=n.display_name or compose_display_name(
                             n.family_name, n.given_name),
                         owner=owner, company=companies.get(n.company_name.strip()),
                         source=source, **n.profile) for n in customers]
        Customer.objects.bulk_create(objs)
        identities, addresses, links, terms, events = [], [], [], [], []
        tags = {name: Tag.objects.get_or_create(name=name)[0]
                for name in {" ".join(t.split())[:50] for n in customers for t in n.tags}
                if name}
        for customer, new in zip(objs, customers, strict=True):
            wanted = ([(IdentityKind.EMAIL, "", e, False) for e in new.emails]
                      + [(IdentityKind.PHONE, "", p, False) for p in new.phones]
                      + [(i_.kind, i_.system, i_.value, i_.verified) for i_ in new.identities])
            seen: set[str] = set()
            for kind, system, value, verified in wanted:
                identities.append(Identity(customer=customer, kind=kind, system=system,
                                           value=value, verified=verified,
                                           is_primary=kind not in seen))
                seen.add(kind)
            if new.address is not None:
                a = new.address
                addresses.append(Address(
                    customer=customer, kind=a.kind, country=a.country.strip().upper(),
                    province=a.province.strip(), city=a.city.strip(),
                    district=a.district.strip(), street=a.street.strip(),
                    postcode=a.postcode.strip(), is_primary=True))
            for name in dict.fromkeys(" ".join(t.split())[:50] for t in new.tags):
                if name:
                    links.append(CustomerTag(customer=customer, tag=tags[name],
                                             added_by=staff(actor)))
            terms += [SearchTerm(customer=customer, term=t) for t in search.terms_for(
                family_name=customer.family_name, given_name=customer.given_name,
                display_name=customer.display_name, emails=new.emails, phones=new.phones)]
            events.append(NewEvent(customer_id=customer.pk, kind="customer_created",
                                   occurred_at=now, source=source,
                                   actor_id=getattr(actor, "pk", None)))
        Identity.objects.bulk_create(identities)
        Address.objects.bulk_create(addresses)
        CustomerTag.objects.bulk_create(links)
        SearchTerm.objects.bulk_create(terms, batch_size=1000)
        events_append_many(events)
        log_actions(actor=actor, action="customer.create", entries=[
            (c, diff({}, {f: getattr(c, f) for f in ("display_name", "family_name",
                                                       "given_name", "region", "source")}
                     | {"identities": n.emails + n.phones + [i_.value for i_ in n.identities]}))
            for c, n in zip(objs, customers, strict=True)])
        run_after_change_many(objs)
    return objs


def customer_update(*, actor: Actor, customer: Customer, expected_version: int | None = None,
                    **changes: Any) -> Customer:
    """Change profile fields. The row is locked and read again first, so concurrent
    writes of different fields never undo each other; with `expected_version` the write
    is refused (PreconditionFailed, 412) if anyone changed the customer since."""
    _check(actor, CustomerAction.CUSTOMER_CHANGE, customer)
    allowed = set(PROFILE_FIELDS) | {"owner"}
    unknown = set(changes) - allowed
    if unknown:
        raise TypeError(f"unknown customer fields: {sorted(unknown)}")
    if "owner" in changes and getattr(changes["owner"], "pk", None) != customer.owner_id \
            and is_team_scoped(actor):
        raise PermissionDenied(_("Only managers can reassign customers"))
    errors = _validate_profile(changes)
    merged_names = {f: changes.get(f, getattr(customer, f))
                    for f in ("family_name", "given_name", "display_name")}
    if not any(str(v).strip() for v in merged_names.values()):
        errors.append(FieldError("family_name", _("A customer needs a name")))
    if errors:
        raise InvalidInput(errors)
    if ("family_name" in changes or "given_name" in changes) and "display_name" not in changes:
        changes["display_name"] = compose_display_name(merged_names["family_name"],
                                                       merged_names["given_name"])
    with transaction.atomic():
        current = Customer.objects.select_for_update().get(pk=customer.pk)
        if expected_version is not None and current.version != expected_version:
            raise PreconditionFailed(
                _("Someone else changed this customer since you opened it (version "
                  "%(theirs)s, yours %(yours)s); reload and apply your change again")
                % {"theirs": current.version, "yours": expected_version},
                current_version=current.version)
        old = {f: getattr(current, f) for f in changes}
        changed = diff(old, changes)
        if not changed:
            customer.version = current.version
            return customer
        for name, value in changes.items():
            setattr(current, name, value)
        current.version += 1
        current.save(update_fields=[*changes, "version", "updated_at"])
        for name in (*changes, "version", "updated_at"):
            setattr(customer, name, getattr(current, name))
        customer = current
        if {"family_name", "given_name", "display_name"} & set(changed):
            refresh_search_terms(customer)
        event_record(customer=customer, kind="profile_updated", actor=actor,
                     data={"fields": sorted(changed), "changes": changed})
        run_after_change(customer)
        log_action(actor=actor, action="customer.update", obj=customer, changes=changed)
    return customer


def customer_delete(*, actor: Actor, customer: Customer) -> None:
    _check(actor, CustomerAction.CUSTOMER_DELETE, customer)
    with transaction.atomic():
        log_action(actor=actor, action="customer.delete", obj=customer,
                   changes={"display_name": [customer.display_name, None]})
        customer.delete()


def company_get_or_create(*, actor: Actor, name: str) -> Company:
    clean = " ".join(name.split())[:200]
    if not clean:
        raise InvalidInput.single("company", _("A company needs a name"), name)
    company, created = Company.objects.get_or_create(name=clean)
    if created:
        log_action(actor=actor, action="company.create", obj=company,
                   changes={"name": [None, clean]})
    return company


EXPORT_COLUMNS = ("id", "display_name", "family_name", "given_name", "gender", "birthday",
                  "region", "occupation", "preferred_language", "preferred_channel", "source",
                  "owner", "tags", "emails", "phones", "created_at")


def customers_export(*, actor: Actor, q: str = "", tag: str = "", owner_id: int | None = None,
                     region: str = "", segment_id: int | None = None) -> Iterator[list[str]]:
    """Rows of the filtered customers (masked for analysts), header first, fetched a page at
    a time so memory stays flat. The export is audited before the first row leaves."""
    require(actor, CustomerAction.CUSTOMER_EXPORT)
    filters: dict[str, Any] = {"q": q, "tag": tag, "owner_id": owner_id, "region": region,
                               "segment_id": segment_id}
    log_action(actor=actor, action="customer.export", object_type="customers.customer",
               extra={"filters": filters})
    yield list(EXPORT_COLUMNS)
    cursor: str | None = None
    while True:
        page = customer_search(actor=actor, cursor=cursor, limit=200, **filters)
        for c in page.items:
            identities = list(c.identities.all())
            yield [safe_cell(v) for v in (
                c.pk, c.display_name, c.family_name, c.given_name, c.gender, c.birthday or "",
                c.region, c.occupation, c.preferred_language, c.preferred_channel, c.source,
                c.owner.username if c.owner else "",
                "|".join(link.tag.name for link in c.tag_links.all()),
                "|".join(i.value for i in identities if i.kind == IdentityKind.EMAIL),
                "|".join(i.value for i in identities if i.kind == IdentityKind.PHONE),
                c.created_at.isoformat())]
        if not page.next_cursor:
            return
        cursor = page.next_cursor
