"""Writes to customer data. Each function is the one path for its change: it checks the
actor's permission, runs in a transaction, writes the timeline event and the audit entry."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.audit.services import diff, log_action, log_actions
from guanxi.core.bulk import insert_rows
from guanxi.core.errors import Conflict, FieldError, InvalidInput, NotFound, PreconditionFailed
from guanxi.core.permissions import Action, is_team_scoped, require
from guanxi.core.spreadsheet import safe_cell
from guanxi.customers import search
from guanxi.customers.events import INTERACTION_KINDS, is_ingestible_kind
from guanxi.customers.hooks import run_after_change, run_after_change_many
from guanxi.customers.models import (
    Address,
    Channel,
    Company,
    Consent,
    ConsentPurpose,
    Customer,
    CustomerTag,
    Event,
    Gender,
    Identity,
    IdentityKind,
    Language,
    Order,
    OrderLine,
    OrderStatus,
    Product,
    SalesChannel,
    SearchTerm,
    Source,
    Tag,
)
from guanxi.customers.names import display_name as compose_display_name
from guanxi.customers.names import person_name
from guanxi.customers.normalize import normalize_email, normalize_phone
from guanxi.customers.selectors import customer_is_visible, customer_search, visible_customers

PROFILE_FIELDS = ("family_name", "given_name", "display_name", "gender", "birthday",
                  "lunar_birthday", "region", "occupation", "preferred_language",
                  "preferred_channel", "source", "attributes", "company")


@dataclass
class IdentityInput:
    kind: str
    value: str
    system: str = ""
    verified: bool = False


@dataclass
class OrderLineInput:
    sku: str
    quantity: int = 1
    unit_price: Decimal | None = None
    name: str = ""


@dataclass
class EventInput:
    kind: str
    occurred_at: dt.datetime
    customer_id: int | None = None
    identity: IdentityInput | None = None
    channel: str = ""
    source: str = ""
    summary: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    idempotency_key: str | None = None


def _check(actor: Any, action: Action, customer: Customer) -> None:
    require(actor, action)
    if not customer_is_visible(actor, customer):
        raise NotFound(_("Customer not found"))


def event_record(*, customer: Customer, kind: str, actor: Any = None,
                 occurred_at: dt.datetime | None = None, summary: str = "",
                 data: dict[str, Any] | None = None, channel: str = "", source: str = "",
                 order: Order | None = None) -> Event:
    """Append to a customer's timeline. Called by the service that caused the event."""
    return Event.objects.create(
        customer=customer, kind=kind, occurred_at=occurred_at or timezone.now(),
        actor=actor if getattr(actor, "pk", None) else None, summary=summary[:500],
        data=data or {}, channel=channel, source=source, order=order)


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


def _identity_conflict(actor: Any, kind: str, system: str, value: str,
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


def customer_create(*, actor: Any, full_name: str = "", family_name: str = "",
                    given_name: str = "", display_name: str = "",
                    emails: Sequence[str] = (), phones: Sequence[str] = (),
                    identities: Sequence[IdentityInput] = (), tags: Sequence[str] = (),
                    addresses: Sequence[AddressInput] = (), company_name: str = "",
                    owner: Any = None, **profile: Any) -> Customer:
    require(actor, Action.CUSTOMER_CREATE)
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
                         summary=_("Customer created (source: %(source)s)")
                         % {"source": customer.get_source_display()},
                         source=customer.source)
            log_action(actor=actor, action="customer.create", obj=customer,
                       changes=diff({}, {f: getattr(customer, f) for f in
                                         ("display_name", "family_name", "given_name",
                                          "region", "source")}
                                    | {"identities": [w[2] for w in wanted]}))
    except IntegrityError as exc:  # a concurrent insert of the same identity
        raise Conflict(_("One of these contacts was just added to another customer")) from exc
    return customer


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


def customers_bulk_create(*, actor: Any, customers: Sequence[NewCustomer],
                          source: str = Source.IMPORT) -> list[Customer]:
    """Create many customers in a few statements, each with exactly what customer_create
    writes (identities, address, tags, search terms, timeline event, audit entry).
    All or nothing: any invalid profile or contact already taken raises, and the caller
    falls back to one customer_create per row to say which."""
    require(actor, Action.CUSTOMER_CREATE)
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
                                             added_by=actor if getattr(actor, "pk", None)
                                             else None))
            terms += [SearchTerm(customer=customer, term=t) for t in search.terms_for(
                family_name=customer.family_name, given_name=customer.given_name,
                display_name=customer.display_name, emails=new.emails, phones=new.phones)]
            events.append(Event(
                customer=customer, kind="customer_created", occurred_at=now,
                actor=actor if getattr(actor, "pk", None) else None, source=source,
                summary=_("Customer created (source: %(source)s)")
                % {"source": customer.get_source_display()}))
        Identity.objects.bulk_create(identities)
        Address.objects.bulk_create(addresses)
        CustomerTag.objects.bulk_create(links)
        SearchTerm.objects.bulk_create(terms, batch_size=1000)
        Event.objects.bulk_create(events)
        log_actions(actor=actor, action="customer.create", entries=[
            (c, diff({}, {f: getattr(c, f) for f in ("display_name", "family_name",
                                                       "given_name", "region", "source")}
                     | {"identities": n.emails + n.phones + [i_.value for i_ in n.identities]}))
            for c, n in zip(objs, customers, strict=True)])
        run_after_change_many(objs)
    return objs


def customer_update(*, actor: Any, customer: Customer, expected_version: int | None = None,
                    **changes: Any) -> Customer:
    """Change profile fields. The row is locked and read again first, so concurrent
    writes of different fields never undo each other; with `expected_version` the write
    is refused (PreconditionFailed, 412) if anyone changed the customer since."""
    _check(actor, Action.CUSTOMER_CHANGE, customer)
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
                     summary=_("Changed: %(fields)s") % {"fields": ", ".join(
                         str(getattr(Customer._meta.get_field(f), "verbose_name", f))
                         for f in changed)},
                     data={"fields": sorted(changed), "changes": changed})
        run_after_change(customer)
        log_action(actor=actor, action="customer.update", obj=customer, changes=changed)
    return customer


def customer_delete(*, actor: Any, customer: Customer) -> None:
    _check(actor, Action.CUSTOMER_DELETE, customer)
    with transaction.atomic():
        log_action(actor=actor, action="customer.delete", obj=customer,
                   changes={"display_name": [customer.display_name, None]})
        customer.delete()


def identity_add(*, actor: Any, customer: Customer, kind: str, value: str, system: str = "",
                 verified: bool = False) -> Identity:
    _check(actor, Action.IDENTITY_CHANGE, customer)
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
                         summary=str(identity.get_kind_display()),
                         data={"kind": kind, "system": system, "identity_id": identity.pk})
            log_action(actor=actor, action="identity.add", obj=identity,
                       customer_id=customer.pk, changes={"value": [None, normalized]})
    except IntegrityError as exc:
        raise Conflict(_("This contact was just added to another customer"),
                       field_name="value") from exc
    return identity


def identity_remove(*, actor: Any, identity: Identity) -> None:
    customer = identity.customer
    _check(actor, Action.IDENTITY_CHANGE, customer)
    with transaction.atomic():
        log_action(actor=actor, action="identity.remove", obj=identity,
                   customer_id=customer.pk, changes={"value": [identity.value, None]})
        identity.delete()
        refresh_search_terms(customer)
        run_after_change(customer)
        event_record(customer=customer, kind="identity_removed", actor=actor,
                     summary=identity.get_kind_display(), data={"kind": identity.kind})


@dataclass
class AddressInput:
    kind: str = "home"
    country: str = "CN"
    province: str = ""
    city: str = ""
    district: str = ""
    street: str = ""
    postcode: str = ""
    is_primary: bool = False


def _address_errors(a: AddressInput, prefix: str = "") -> list[FieldError]:
    errors = []
    if a.kind not in Address.Kind.values:
        errors.append(FieldError(f"{prefix}kind", _("Choose one of: %(choices)s")
                                 % {"choices": ", ".join(Address.Kind.values)}, a.kind))
    country = a.country.strip()
    if len(country) != 2 or not country.isalpha():
        errors.append(FieldError(f"{prefix}country", _("Use a two-letter ISO 3166 code"),
                                 a.country))
    if not any(v.strip() for v in (a.province, a.city, a.district, a.street)):
        errors.append(FieldError(f"{prefix}street",
                                 _("An address needs at least a city or street")))
    return errors


def _address_create(actor: Any, customer: Customer, a: AddressInput) -> Address:
    is_primary = a.is_primary or not customer.addresses.exists()
    if is_primary:
        customer.addresses.update(is_primary=False)
    address = Address.objects.create(
        customer=customer, kind=a.kind, country=a.country.strip().upper(),
        province=a.province.strip(), city=a.city.strip(), district=a.district.strip(),
        street=a.street.strip(), postcode=a.postcode.strip(), is_primary=is_primary)
    log_action(actor=actor, action="address.add", obj=address, customer_id=customer.pk,
               changes={"address": [None, str(address)]})
    return address


def address_add(*, actor: Any, customer: Customer, address: AddressInput) -> Address:
    _check(actor, Action.CUSTOMER_CHANGE, customer)
    if errors := _address_errors(address):
        raise InvalidInput(errors)
    with transaction.atomic():
        created = _address_create(actor, customer, address)
        run_after_change(customer)
        return created


def address_remove(*, actor: Any, address: Address) -> None:
    _check(actor, Action.CUSTOMER_CHANGE, address.customer)
    with transaction.atomic():
        log_action(actor=actor, action="address.remove", obj=address,
                   customer_id=address.customer_id, changes={"address": [str(address), None]})
        address.delete()
        run_after_change(address.customer)


def company_get_or_create(*, actor: Any, name: str) -> Company:
    clean = " ".join(name.split())[:200]
    if not clean:
        raise InvalidInput.single("company", _("A company needs a name"), name)
    company, created = Company.objects.get_or_create(name=clean)
    if created:
        log_action(actor=actor, action="company.create", obj=company,
                   changes={"name": [None, clean]})
    return company


def product_upsert(*, actor: Any, sku: str, name: str, price: Decimal, category: str = "",
                   currency: str = "") -> Product:
    require(actor, Action.ORDER_CREATE)
    sku = sku.strip()
    if not sku:
        raise InvalidInput.single("sku", _("This field cannot be empty"), sku)
    price = _money(price, "price")
    currency = _currency(currency)
    with transaction.atomic():
        product = Product.objects.select_for_update().filter(sku=sku).first()
        old = {"name": product.name, "price": product.price, "category": product.category,
               "currency": product.currency} if product else {}
        new = {"name": name.strip(), "price": price, "category": category.strip(),
               "currency": currency}
        if product is None:
            product = Product.objects.create(sku=sku, **new)
        else:
            for field_name, value in new.items():
                setattr(product, field_name, value)
            product.save(update_fields=[*new, "updated_at"])
        if changed := diff(old, new):
            log_action(actor=actor, action="product.upsert", obj=product, changes=changed)
    return product


def _tag_link(actor: Any, customer: Customer, name: str) -> tuple[Tag, bool]:
    clean = " ".join(name.split())[:50]
    if not clean:
        raise InvalidInput.single("name", _("A tag needs a name"), name)
    tag, _created = Tag.objects.get_or_create(name=clean)
    _link, created = CustomerTag.objects.get_or_create(
        customer=customer, tag=tag,
        defaults={"added_by": actor if getattr(actor, "pk", None) else None})
    return tag, created


def tag_add(*, actor: Any, customer: Customer, name: str) -> Tag:
    _check(actor, Action.TAG_ASSIGN, customer)
    with transaction.atomic():
        tag, created = _tag_link(actor, customer, name)
        if created:
            event_record(customer=customer, kind="tag_added", actor=actor, summary=tag.name)
            log_action(actor=actor, action="tag.add", obj=customer,
                       changes={"tags": [None, tag.name]})
    return tag


def tag_remove(*, actor: Any, customer: Customer, name: str) -> None:
    _check(actor, Action.TAG_ASSIGN, customer)
    with transaction.atomic():
        deleted, _detail = CustomerTag.objects.filter(customer=customer, tag__name=name).delete()
        if deleted:
            event_record(customer=customer, kind="tag_removed", actor=actor, summary=name)
            log_action(actor=actor, action="tag.remove", obj=customer,
                       changes={"tags": [name, None]})


def consent_set(*, actor: Any, customer: Customer, channel: str, purpose: str, granted: bool,
                source: str = "", proof: str = "") -> Consent:
    _check(actor, Action.CONSENT_CHANGE, customer)
    errors = []
    if channel not in Channel.values:
        errors.append(FieldError("channel", _("Unknown channel"), channel))
    if purpose not in ConsentPurpose.values:
        errors.append(FieldError("purpose", _("Unknown purpose"), purpose))
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        consent = (Consent.objects.select_for_update()
                   .filter(customer=customer, channel=channel, purpose=purpose).first())
        old = consent.granted if consent else None
        if consent is None:
            consent = Consent(customer=customer, channel=channel, purpose=purpose)
        consent.granted = granted
        consent.changed_at = timezone.now()
        consent.source = source[:60]
        consent.proof = proof
        consent.recorded_by = actor if getattr(actor, "pk", None) else None
        consent.save()
        verb = _("granted") if granted else _("withdrawn")
        event_record(customer=customer, kind="consent_changed", actor=actor,
                     summary=f"{consent.get_channel_display()} · "
                             f"{consent.get_purpose_display()}: {verb}",
                     data={"channel": channel, "purpose": purpose, "granted": granted,
                           "source": source, "proof": proof})
        log_action(actor=actor, action="consent.set", obj=consent, customer_id=customer.pk,
                   changes={f"{channel}/{purpose}": [old, granted]},
                   extra={"source": source, "proof": proof})
    return consent


# The largest amounts the columns hold: unit prices 12 digits, totals 14 (2 decimals).
MAX_UNIT_PRICE = Decimal("9999999999.99")
MAX_TOTAL = Decimal("999999999999.99")


def _currency(value: str) -> str:
    """An ISO 4217 code (the business's default when empty)."""
    currency = (value or settings.GUANXI_DEFAULT_CURRENCY).strip().upper()
    if len(currency) != 3 or not currency.isascii() or not currency.isalpha():
        raise InvalidInput.single("currency", _("Use a three-letter ISO 4217 code"), value)
    return currency


def _money(value: Any, path: str, limit: Decimal = MAX_UNIT_PRICE) -> Decimal:
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError) as exc:
        raise InvalidInput.single(path, _("Not an amount"), value) from exc
    if not amount.is_finite():
        raise InvalidInput.single(path, _("Not an amount"), value)
    if amount < 0:
        raise InvalidInput.single(path, _("Must not be negative"), value)
    if amount > limit:
        raise InvalidInput.single(path, _("Must not be more than %(max)s") % {"max": limit},
                                  value)
    return amount


def order_create(*, actor: Any, customer: Customer, lines: Sequence[OrderLineInput],
                 channel: str = SalesChannel.OTHER, store: str = "", currency: str = "",
                 status: str = OrderStatus.PAID, placed_at: dt.datetime | None = None,
                 external_id: str = "") -> Order:
    _check(actor, Action.ORDER_CREATE, customer)
    errors: list[FieldError] = []
    if not lines:
        errors.append(FieldError("lines", _("An order needs at least one line")))
    if channel not in SalesChannel.values:
        errors.append(FieldError("channel", _("Unknown sales channel"), channel))
    if status not in OrderStatus.values:
        errors.append(FieldError("status", _("Unknown order status"), status))
    try:
        currency = _currency(currency)
    except InvalidInput as exc:
        errors.extend(exc.errors)
    products = {p.sku: p for p in Product.objects.filter(sku__in=[ln.sku for ln in lines])}
    built: list[OrderLine] = []
    for i, line in enumerate(lines):
        product = products.get(line.sku)
        if line.quantity is None or line.quantity < 1:
            errors.append(FieldError(f"lines.{i}.quantity", _("Must be at least 1"),
                                     line.quantity))
            continue
        if line.unit_price is None and product is None:
            errors.append(FieldError(f"lines.{i}.unit_price",
                                     _("Unknown SKU: give a unit price"), line.sku))
            continue
        try:
            base = line.unit_price if line.unit_price is not None else (
                product.price if product else None)
            price = _money(base, f"lines.{i}.unit_price")
        except InvalidInput as exc:
            errors.extend(exc.errors)
            continue
        if price * line.quantity > MAX_TOTAL:
            errors.append(FieldError(f"lines.{i}.quantity", _(
                "The line total (quantity × unit price) must not be more than %(max)s")
                % {"max": MAX_TOTAL}, line.quantity))
            continue
        built.append(OrderLine(product=product, sku=line.sku,
                               name=line.name or (product.name if product else line.sku),
                               quantity=line.quantity, unit_price=price,
                               line_total=price * line.quantity))
    if external_id and Order.objects.filter(channel=channel, external_id=external_id).exists():
        raise Conflict(_("Order %(id)s from %(channel)s already exists")
                       % {"id": external_id, "channel": channel}, field_name="external_id")
    total = sum((ln.line_total for ln in built), Decimal("0.00"))
    if total > MAX_TOTAL:
        errors.append(FieldError("lines", _("The order total must not be more than %(max)s")
                                 % {"max": MAX_TOTAL}, str(total)))
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        order = Order.objects.create(customer=customer, external_id=external_id,
                                     channel=channel, store=store, currency=currency,
                                     status=status, total=total,
                                     placed_at=placed_at or timezone.now())
        for built_line in built:
            built_line.order = order
        OrderLine.objects.bulk_create(built)
        items = sum(ln.quantity for ln in built)
        event_record(customer=customer, kind="order_placed", actor=actor,
                     occurred_at=order.placed_at, channel=channel, order=order,
                     summary=_("Order %(ref)s · %(total)s %(currency)s · %(n)s items")
                     % {"ref": order, "total": total, "currency": currency, "n": items},
                     data={"order_id": order.pk, "total": str(total), "currency": currency,
                           "items": items, "skus": [ln.sku for ln in built]})
        log_action(actor=actor, action="order.create", obj=order, customer_id=customer.pk,
                   changes={"total": [None, total], "status": [None, status]})
    return order


def order_set_status(*, actor: Any, order: Order, status: str) -> Order:
    _check(actor, Action.ORDER_CREATE, order.customer)
    if status not in OrderStatus.values:
        raise InvalidInput.single("status", _("Unknown order status"), status)
    if status == order.status:
        return order
    with transaction.atomic():
        old = order.status
        order.status = status
        order.save(update_fields=["status", "updated_at"])
        if status != OrderStatus.PAID:
            event_record(customer=order.customer, kind=f"order_{status}", actor=actor,
                         order=order, summary=f"{order} · {order.get_status_display()}",
                         data={"order_id": order.pk, "total": str(order.total)})
        log_action(actor=actor, action="order.status", obj=order,
                   customer_id=order.customer_id, changes={"status": [old, status]})
    return order


def interaction_log(*, actor: Any, customer: Customer, kind: str, summary: str,
                    channel: str = "", occurred_at: dt.datetime | None = None) -> Event:
    _check(actor, Action.INTERACTION_LOG, customer)
    errors = []
    if kind not in INTERACTION_KINDS:
        errors.append(FieldError("kind", _("Choose call, visit or note"), kind))
    text = summary.strip()
    if not text:
        errors.append(FieldError("summary", _("Write what happened")))
    if occurred_at is not None and occurred_at > timezone.now() + dt.timedelta(minutes=5):
        errors.append(FieldError("occurred_at", _("Cannot be in the future"), str(occurred_at)))
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        event = event_record(customer=customer, kind=kind, actor=actor, occurred_at=occurred_at,
                             summary=text[:500], channel=channel,
                             data={"text": text} if len(text) > 500 else {})
        log_action(actor=actor, action=f"interaction.{kind}", obj=event,
                   customer_id=customer.pk)
    return event


def _resolve_event_customers(actor: Any, events: Sequence[EventInput]) -> tuple[
        dict[int, int], list[FieldError]]:
    """Map event index -> customer id, resolving identities in two queries."""
    visible = visible_customers(actor)
    ids = {e.customer_id for e in events if e.customer_id is not None}
    known_ids = set(visible.filter(pk__in=ids).values_list("pk", flat=True)) if ids else set()
    wanted: dict[tuple[str, str, str], list[int]] = {}
    errors: list[FieldError] = []
    resolved: dict[int, int] = {}
    for i, e in enumerate(events):
        if e.customer_id is not None:
            if e.customer_id in known_ids:
                resolved[i] = e.customer_id
            else:
                errors.append(FieldError(f"events.{i}.customer_id", _("Unknown customer"),
                                         e.customer_id))
        elif e.identity is not None:
            try:
                value = normalize_identity(e.identity.kind, e.identity.value,
                                           field_name=f"events.{i}.identity.value")
            except InvalidInput as exc:
                errors.extend(exc.errors)
                continue
            wanted.setdefault((e.identity.kind, e.identity.system, value), []).append(i)
        else:
            errors.append(FieldError(f"events.{i}", _("Give customer_id or identity")))
    if wanted:
        values = {v for (_k, _s, v) in wanted}
        rows = (Identity.objects.filter(value__in=values, customer__in=visible)
                .values_list("kind", "system", "value", "customer_id"))
        found = {(k, s, v): c for k, s, v, c in rows}
        for key, indexes in wanted.items():
            for i in indexes:
                if key in found:
                    resolved[i] = found[key]
                else:
                    errors.append(FieldError(f"events.{i}.identity",
                                             _("No customer has this identity"), key[2]))
    return resolved, errors


def events_ingest(*, actor: Any, events: Sequence[EventInput]) -> dict[str, int]:
    """Append a batch of events; all or nothing. A repeated idempotency key adds nothing."""
    require(actor, Action.EVENT_CREATE)
    errors: list[FieldError] = []
    limit = settings.GUANXI_API_MAX_BULK
    if len(events) > limit:
        raise InvalidInput.single("events", _("At most %(n)s events per call") % {"n": limit},
                                  len(events))
    now = timezone.now()
    for i, e in enumerate(events):
        if not is_ingestible_kind(e.kind):
            errors.append(FieldError(f"events.{i}.kind",
                                     _("Unknown event kind (use a known kind or custom.*)"),
                                     e.kind))
        if timezone.is_naive(e.occurred_at):
            errors.append(FieldError(f"events.{i}.occurred_at",
                                     _("Give a time zone offset"), str(e.occurred_at)))
        elif e.occurred_at > now + dt.timedelta(days=1):
            errors.append(FieldError(f"events.{i}.occurred_at", _("Cannot be in the future"),
                                     e.occurred_at.isoformat()))
    resolved, resolve_errors = _resolve_event_customers(actor, events)
    errors.extend(resolve_errors)
    if errors:
        raise InvalidInput(errors)
    rows = []
    adapt = connection.ops.adapt_datetimefield_value
    now_db = adapt(now)
    actor_id = getattr(actor, "pk", None)
    for i, e in enumerate(events):
        rows.append((resolved[i], e.kind, adapt(e.occurred_at), now_db, e.channel[:20],
                     e.source[:40], actor_id, e.summary[:500],
                     json.dumps(e.data, ensure_ascii=False, cls=DjangoJSONEncoder)
                     if e.data else "{}", e.idempotency_key or None))
    # In timeline-index order, so the B-tree is walked forward once rather than at random.
    rows.sort(key=lambda r: (r[0], r[2]))
    with transaction.atomic():
        # The unique index on idempotency_key decides what is new: a repeated key (from an
        # earlier call, this batch, or a concurrent call) is skipped by the insert itself.
        created = insert_rows("customers_event", (
            "customer_id", "kind", "occurred_at", "recorded_at", "channel", "source",
            "actor_id", "summary", "data", "idempotency_key"), rows, ignore_conflicts=True)
        log_action(actor=actor, action="events.ingest", object_type="customers.event",
                   extra={"received": len(events), "created": created,
                          "customers": len(set(resolved.values()))})
    return {"received": len(events), "created": created, "duplicates": len(events) - created}


EXPORT_COLUMNS = ("id", "display_name", "family_name", "given_name", "gender", "birthday",
                  "region", "occupation", "preferred_language", "preferred_channel", "source",
                  "owner", "tags", "emails", "phones", "created_at")


def customers_export(*, actor: Any, q: str = "", tag: str = "", owner_id: int | None = None,
                     region: str = "", segment_id: int | None = None) -> Iterator[list[str]]:
    """Rows of the filtered customers (masked for analysts), header first, fetched a page at
    a time so memory stays flat. The export is audited before the first row leaves."""
    require(actor, Action.CUSTOMER_EXPORT)
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
