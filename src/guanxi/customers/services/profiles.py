"""Customers themselves: create (one by one and in bulk), change, delete, export."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.audit.services import diff, log_action, log_actions
from guanxi.core.bulk import insert_objects, update_objects
from guanxi.core.choices import choice_label
from guanxi.core.errors import Conflict, FieldError, InvalidInput, PreconditionFailed
from guanxi.core.permissions import (
    Actor,
    Role,
    can,
    effective_role,
    is_team_scoped,
    require,
    staff,
)
from guanxi.core.privacy import erase_everywhere
from guanxi.core.spreadsheet import safe_cell
from guanxi.customers import search
from guanxi.customers.hooks import run_after_change_many
from guanxi.customers.models import (
    Address,
    Channel,
    Company,
    Consent,
    ConsentPurpose,
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
from guanxi.customers.permissions import CustomerAction
from guanxi.customers.privacy import person_of
from guanxi.customers.regions import region_codes
from guanxi.customers.selectors import customer_search
from guanxi.customers.services.access import _check
from guanxi.customers.services.addresses import AddressInput, _address_errors, _address_row
from guanxi.customers.services.identities import (
    IdentityInput,
    _identity_conflict,
    identity_keys_q,
    normalize_identity,
    refresh_search_terms,
)
from guanxi.customers.services.tags import tag_name_clean
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


@dataclass
class NewCustomer:
    """A customer to create: what customer_create takes, one per row for
    customers_bulk_create. Contacts are normalised on the way in."""

    family_name: str = ""
    given_name: str = ""
    display_name: str = ""
    full_name: str = ""
    emails: Sequence[str] = ()
    phones: Sequence[str] = ()
    identities: Sequence[IdentityInput] = ()
    tags: Sequence[str] = ()
    addresses: Sequence[AddressInput] = ()
    company_name: str = ""
    owner: Any = None
    profile: dict[str, Any] = field(default_factory=dict)
    # the caller normalised every contact with customers.normalize already (imports do,
    # row by row, to match existing customers): they are not parsed a second time
    normalized: bool = False


@dataclass
class _Ready:
    """A NewCustomer validated: the unsaved row and its normalised contacts."""

    customer: Customer
    new: NewCustomer
    wanted: list[tuple[str, str, str, bool, str]]  # kind, system, value, verified, field
    tags: list[str]


def _prepare(actor: Actor, new: NewCustomer, prefix: str = "") -> tuple[_Ready | None,
                                                                       list[FieldError]]:
    """Validate and normalise one new customer; field names of errors get `prefix`."""
    unknown = set(new.profile) - set(PROFILE_FIELDS)
    if unknown:
        raise TypeError(f"unknown customer fields: {sorted(unknown)}")
    family_name, given_name = new.family_name, new.given_name
    if new.full_name and not (family_name or given_name):
        family_name, given_name = _split_name(new.full_name)
    family_name, given_name = family_name.strip(), given_name.strip()
    errors = _validate_profile(new.profile)
    if not (family_name or given_name or new.display_name.strip()):
        errors.append(FieldError("family_name", _("A customer needs a name")))
    wanted: list[tuple[str, str, str, bool, str]] = []
    contacts = ([(IdentityKind.EMAIL, "", e, False, f"emails.{i}")
                 for i, e in enumerate(new.emails)]
                + [(IdentityKind.PHONE, "", p, False, f"phones.{i}")
                   for i, p in enumerate(new.phones)]
                + [(x.kind, x.system.strip(), x.value, x.verified, f"identities.{i}.value")
                   for i, x in enumerate(new.identities)])
    for kind, system, value, verified, path in contacts:
        if new.normalized:
            wanted.append((kind, system, value, verified, path))
            continue
        try:
            wanted.append((kind, system, normalize_identity(kind, value, field_name=path),
                           verified, path))
        except InvalidInput as exc:
            errors.extend(exc.errors)
    for i, address in enumerate(new.addresses):
        errors.extend(_address_errors(address, f"addresses.{i}."))
    tags = list(dict.fromkeys(tag_name_clean(t) for t in new.tags))
    if "" in tags:
        errors.append(FieldError("tags", _("A tag needs a name")))
    seen: set[tuple[str, str, str]] = set()
    for kind, system, value, _v, path in wanted:
        if (kind, system, value) in seen:
            errors.append(FieldError(path, _("Listed twice"), value))
        seen.add((kind, system, value))
    if errors:
        return None, [FieldError(prefix + e.field, e.message, e.value) for e in errors]
    owner = new.owner
    if owner is None and is_team_scoped(actor):
        owner = actor  # otherwise a salesperson could create a customer they cannot see
    elif (owner is not None and is_team_scoped(actor) and owner.pk != actor.pk
          and not (actor.team_id and owner.team_id == actor.team_id)):
        raise PermissionDenied(_("You can give a new customer only to yourself or to "
                                 "someone in your team"))
    elif owner is not None and not can(owner, CustomerAction.CUSTOMER_OWN):
        return None, [FieldError(prefix + "owner", _("%(name)s's role cannot own customers")
                                 % {"name": owner}, owner.pk)]
    customer = Customer(
        family_name=family_name, given_name=given_name,
        display_name=new.display_name.strip() or compose_display_name(family_name, given_name),
        owner=owner, **new.profile)
    return _Ready(customer, new, wanted, tags), []


def _insert(actor: Actor, ready: Sequence[_Ready], prefixes: Sequence[str]) -> list[Customer]:
    """Write validated new customers in a few statements: the rows, identities,
    addresses, tags, search terms, one timeline event and one audit entry each, then the
    after-change hooks. A contact taken already (or twice in the batch) is a Conflict
    naming the row's field."""
    seen: set[tuple[str, str, str]] = set()
    for r, prefix in zip(ready, prefixes, strict=True):
        for kind, system, value, _v, path in r.wanted:
            if (kind, system, value) in seen:
                raise Conflict(_("%(value)s appears twice") % {"value": value},
                               field_name=prefix + path)
            seen.add((kind, system, value))
    if seen:
        taken = set(Identity.objects.filter(identity_keys_q(list(seen))).values_list(
            "kind", "system", "value"))
        for r, prefix in zip(ready, prefixes, strict=True):
            for kind, system, value, _v, path in r.wanted:
                if (kind, system, value) in taken and (conflict := _identity_conflict(
                        actor, kind, system, value, prefix + path)):
                    raise conflict
    now = timezone.now()
    objs = [r.customer for r in ready]
    for obj, code in zip(objs, region_codes([o.region for o in objs]), strict=True):
        obj.region_code = code
    try:
        with transaction.atomic():
            companies = {name: company_get_or_create(actor=actor, name=name)
                         for name in {r.new.company_name.strip() for r in ready} if name}
            for r in ready:
                if company := companies.get(r.new.company_name.strip()):
                    r.customer.company = company
            Customer.objects.bulk_create(objs)
            tags = {name: Tag.objects.get_or_create(name=name)[0]
                    for name in {t for r in ready for t in r.tags}}
            identities: list[dict[str, Any]] = []
            links: list[dict[str, Any]] = []
            terms: list[dict[str, Any]] = []
            addresses: list[Address] = []
            events: list[NewEvent] = []
            entries: list[tuple[Any, dict[str, Any]]] = []
            added_by = getattr(staff(actor), "pk", None)
            for r in ready:
                customer = r.customer
                kinds: set[str] = set()
                for kind, system, value, verified, _path in r.wanted:
                    identities.append({"customer_id": customer.pk, "kind": kind,
                                       "system": system, "value": value,
                                       "verified": verified, "is_primary": kind not in kinds,
                                       "created_at": now})
                    kinds.add(kind)
                primary = max((i for i, a in enumerate(r.new.addresses) if a.is_primary),
                              default=0)
                mine = [_address_row(customer, a, is_primary=i == primary)
                        for i, a in enumerate(r.new.addresses)]
                addresses += mine
                links += [{"customer_id": customer.pk, "tag_id": tags[name].pk,
                           "added_by_id": added_by, "added_at": now} for name in r.tags]
                terms += [{"customer_id": customer.pk, "term": t} for t in search.terms_for(
                    family_name=customer.family_name, given_name=customer.given_name,
                    display_name=customer.display_name,
                    emails=[w[2] for w in r.wanted if w[0] == IdentityKind.EMAIL],
                    phones=[w[2] for w in r.wanted if w[0] == IdentityKind.PHONE])]
                events.append(NewEvent(customer_id=customer.pk, kind="customer_created",
                                       occurred_at=now, source=customer.source,
                                       actor_id=getattr(actor, "pk", None)))
                entries.append((customer, diff({}, {f: getattr(customer, f) for f in (
                    "display_name", "family_name", "given_name", "region", "source")}
                    | {"identities": [w[2] for w in r.wanted]}
                    | ({"addresses": [str(a) for a in mine]} if mine else {})
                    | ({"tags": r.tags} if r.tags else {}))))
            insert_objects(Identity, identities)
            Address.objects.bulk_create(addresses)
            insert_objects(CustomerTag, links)
            insert_objects(SearchTerm, terms)
            events_append_many(events)
            log_actions(actor=actor, action="customer.create", entries=entries)
            run_after_change_many(objs)
    except IntegrityError as exc:  # a concurrent insert of the same identity
        raise Conflict(_("One of these contacts was just added to another customer")) from exc
    return objs


def customer_create(*, actor: Actor, full_name: str = "", family_name: str = "",
                    given_name: str = "", display_name: str = "",
                    emails: Sequence[str] = (), phones: Sequence[str] = (),
                    identities: Sequence[IdentityInput] = (), tags: Sequence[str] = (),
                    addresses: Sequence[AddressInput] = (), company_name: str = "",
                    owner: Any = None, **profile: Any) -> Customer:
    """Create one customer (customers_bulk_create with one row)."""
    require(actor, CustomerAction.CUSTOMER_CREATE)
    ready, errors = _prepare(actor, NewCustomer(
        family_name=family_name, given_name=given_name, display_name=display_name,
        full_name=full_name, emails=emails, phones=phones, identities=identities, tags=tags,
        addresses=addresses, company_name=company_name, owner=owner, profile=profile))
    if ready is None:
        raise InvalidInput(errors)
    return _insert(actor, [ready], [""])[0]


def customers_bulk_create(*, actor: Actor, customers: Sequence[NewCustomer],
                          source: str = Source.IMPORT) -> list[Customer]:
    """Create many customers in a few statements, each with exactly what customer_create
    writes. All or nothing: errors name the row (`3.emails.0`); a contact already taken
    is a Conflict naming the first such field."""
    require(actor, CustomerAction.CUSTOMER_CREATE)
    ready: list[_Ready] = []
    errors: list[FieldError] = []
    prefixes = [f"{i}." for i in range(len(customers))]
    for new, prefix in zip(customers, prefixes, strict=True):
        one, problems = _prepare(actor, replace(new, profile={"source": source,
                                                              **new.profile}), prefix)
        errors += problems
        if one is not None:
            ready.append(one)
    if errors:
        raise InvalidInput(errors)
    return _insert(actor, ready, prefixes)


def customer_create_automatic(*, new: NewCustomer, source: str) -> Customer:
    """The system's own new customer (an unknown sender writing to the service desk, a
    bot conversation): customer_create's checks, events and audit entry, acting for no
    person. Raises InvalidInput naming the field."""
    ready, errors = _prepare(None, replace(new, profile={"source": source, **new.profile}))
    if ready is None:
        raise InvalidInput(errors)
    return _insert(None, [ready], [""])[0]


def customer_update(*, actor: Actor, customer: Customer, expected_version: int | None = None,
                    **changes: Any) -> Customer:
    """Change profile fields. The row is locked and read again first, so concurrent
    writes of different fields never undo each other; with `expected_version` the write
    is refused (PreconditionFailed, 412) if anyone changed the customer since.
    (customers_update_many with one customer.)"""
    return _update(actor, [ProfileChange(customer, changes, expected_version)], [""])[0]


@dataclass
class ProfileChange:
    """Profile fields to change on one customer, for customers_update_many."""

    customer: Customer
    changes: dict[str, Any]
    expected_version: int | None = None


def customers_update_many(*, actor: Actor, changes: Sequence[ProfileChange]) -> list[Customer]:
    """customer_update for many customers in a few statements (imports): each gets
    exactly what customer_update writes. All or nothing; errors name the row
    (`3.birthday`). A customer may appear once."""
    if len({c.customer.pk for c in changes}) != len(changes):
        raise ValueError("a customer appears twice")
    return _update(actor, changes, [f"{i}." for i in range(len(changes))])


def customer_update_automatic(*, customer: Customer, **changes: Any) -> Customer:
    """The system's own profile change (an automation step setting a field or assigning
    an owner): customer_update's checks, timeline event and audit entry, acting for no
    person."""
    return _update(None, [ProfileChange(customer, changes)], [""], system=True)[0]


def _update(actor: Actor, items: Sequence[ProfileChange], prefixes: Sequence[str],
            *, system: bool = False) -> list[Customer]:
    allowed = set(PROFILE_FIELDS) | {"owner"}
    errors: list[FieldError] = []
    for item, prefix in zip(items, prefixes, strict=True):
        customer, changes = item.customer, item.changes
        if not system:
            _check(actor, CustomerAction.CUSTOMER_CHANGE, customer)
        unknown = set(changes) - allowed
        if unknown:
            raise TypeError(f"unknown customer fields: {sorted(unknown)}")
        if "owner" in changes and getattr(changes["owner"], "pk", None) != customer.owner_id \
                and is_team_scoped(actor):
            raise PermissionDenied(_("Only managers can reassign customers"))
        problems = _validate_profile(changes)
        new_owner = changes.get("owner")
        if new_owner is not None and getattr(new_owner, "pk", None) != customer.owner_id \
                and not can(new_owner, CustomerAction.CUSTOMER_OWN):
            problems.append(FieldError("owner", _("%(name)s's role cannot own customers")
                                       % {"name": new_owner}, getattr(new_owner, "pk", None)))
        names = {f: changes.get(f, getattr(customer, f))
                 for f in ("family_name", "given_name", "display_name")}
        if not any(str(v).strip() for v in names.values()):
            problems.append(FieldError("family_name", _("A customer needs a name")))
        errors += [FieldError(prefix + e.field, e.message, e.value) for e in problems]
        if not problems and ({"family_name", "given_name"} & set(changes)
                             and "display_name" not in changes):
            changes["display_name"] = compose_display_name(names["family_name"],
                                                           names["given_name"])
    if errors:
        raise InvalidInput(errors)
    now = timezone.now()
    regions = [str(i.changes["region"] or "") for i in items if "region" in i.changes]
    code_of = dict(zip(regions, region_codes(regions), strict=True))
    with transaction.atomic():
        current = Customer.objects.select_for_update().in_bulk(
            [i.customer.pk for i in items])
        written: dict[frozenset[str], list[Customer]] = {}
        events: list[NewEvent] = []
        entries: list[tuple[Any, dict[str, Any]]] = []
        renamed: list[Customer] = []
        out: list[Customer] = []
        for item in items:
            row = current[item.customer.pk]
            if item.expected_version is not None and row.version != item.expected_version:
                raise PreconditionFailed(
                    _("Someone else changed this customer since you opened it (version "
                      "%(theirs)s, yours %(yours)s); reload and apply your change again")
                    % {"theirs": row.version, "yours": item.expected_version},
                    current_version=row.version)
            changed = diff({f: getattr(row, f) for f in item.changes}, item.changes)
            if not changed:
                item.customer.version = row.version
                out.append(item.customer)
                continue
            for name, value in item.changes.items():
                setattr(row, name, value)
            saved = set(item.changes)
            if "region" in saved:
                row.region_code = code_of[str(row.region or "")]
                saved.add("region_code")
            row.version += 1
            row.updated_at = now
            written.setdefault(frozenset(saved), []).append(row)
            for name in (*saved, "version", "updated_at"):
                setattr(item.customer, name, getattr(row, name))
            if {"family_name", "given_name", "display_name"} & set(changed):
                renamed.append(row)
            events.append(NewEvent(customer_id=row.pk, kind="profile_updated", occurred_at=now,
                                   actor_id=getattr(actor, "pk", None),
                                   data={"fields": sorted(changed), "changes": changed}))
            entries.append((row, changed))
            out.append(row)
        for fields, rows in written.items():
            update_objects(rows, [*fields, "version", "updated_at"])
        for row in renamed:
            refresh_search_terms(row)
        if events:
            events_append_many(events)
            run_after_change_many([row for row, _c in entries])
            log_actions(actor=actor, action="customer.update", entries=entries)
    return out


def customer_delete(*, actor: Actor, customer: Customer) -> None:
    """Delete the customer and every trace of their personal data elsewhere (audit values,
    merge records, import files and reports: the apps' registered erasures); the audit
    entry records the deletion without the data."""
    _check(actor, CustomerAction.CUSTOMER_DELETE, customer)
    with transaction.atomic():
        counts = erase_everywhere(person_of(customer))
        log_action(actor=actor, action="customer.delete", obj=customer,
                   extra={"erased": counts})
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


def company_update(*, actor: Actor, company: Company, name: str, industry: str = "",
                   website: str = "", owner: Any = None) -> Company:
    """Change a company's name, industry, website or owner (someone whose role may own
    customers); audited with what changed."""
    require(actor, CustomerAction.CUSTOMER_CHANGE)
    errors: list[FieldError] = []
    clean = " ".join(name.split())[:200]
    if not clean:
        errors.append(FieldError("name", _("A company needs a name"), name))
    elif Company.objects.filter(name=clean).exclude(pk=company.pk).exists():
        errors.append(FieldError("name", _("Another company has this name"), clean))
    website = website.strip()
    if website and not website.startswith(("http://", "https://")):
        website = "https://" + website
    if len(website) > 200:
        errors.append(FieldError("website", _("At most 200 characters"), website))
    if owner is not None and not can(owner, CustomerAction.CUSTOMER_OWN):
        errors.append(FieldError("owner", _("%(name)s's role cannot own customers")
                                 % {"name": owner}, owner.pk))
    if errors:
        raise InvalidInput(errors)
    new = {"name": clean, "industry": industry.strip()[:100], "website": website,
           "owner": owner}
    old = {k: getattr(company, k) for k in new}
    changed = diff({k: str(v or "") for k, v in old.items()},
                   {k: str(v or "") for k, v in new.items()})
    if not changed:
        return company
    with transaction.atomic():
        for k, v in new.items():
            setattr(company, k, v)
        company.save()
        log_action(actor=actor, action="company.update", obj=company, changes=changed)
    return company


EXPORT_COLUMNS = ("id", "display_name", "family_name", "given_name", "gender", "birthday",
                  "region", "occupation", "preferred_language", "preferred_channel", "source",
                  "owner", "tags", "emails", "phones", "created_at",
                  # the channels on which the customer agrees to each purpose
                  *(f"consent_{purpose}" for purpose in ConsentPurpose.values))


def export_header(readable: bool) -> list[str]:
    """The export's first row: column labels in the active language, or the codes."""
    if not readable:
        return list(EXPORT_COLUMNS)
    labels = {"id": _("ID"), "display_name": _("Name"), "family_name": _("Family name"),
              "given_name": _("Given name"), "gender": _("Gender"), "birthday": _("Birthday"),
              "region": _("Region"), "occupation": _("Occupation"),
              "preferred_language": _("Preferred language"),
              "preferred_channel": _("Preferred channel"), "source": _("Source"),
              "owner": _("Owner"), "tags": _("Tags"), "emails": _("Email"),
              "phones": _("Phone"), "created_at": _("Customer since")}
    for purpose, label in ConsentPurpose.choices:
        labels[f"consent_{purpose}"] = _("Agrees to %(purpose)s on") % {"purpose": label}
    return [str(labels[c]) for c in EXPORT_COLUMNS]


def customers_export(*, actor: Actor, q: str = "", tag: str = "", owner_id: int | None = None,
                     region: str = "", segment_id: int | None = None,
                     consented_only: bool = True, facets: Mapping[str, str] | None = None,
                     readable: bool = True) -> Iterator[list[str]]:
    """Rows of the filtered customers (masked for analysts), header first, fetched a page at
    a time so memory stays flat. The export is audited before the first row leaves.

    By default only customers who agree to marketing on some channel are exported (the
    export feeds campaigns); `consented_only=False` exports everyone for other purposes,
    except for the marketing role, whose exports are always consented only.

    `readable` (the default): headers and codes (gender, channel, source, language) in the
    active language, owners by name, times in the business time zone to the minute;
    otherwise the machine-readable form: codes, usernames and ISO 8601 times in UTC."""
    require(actor, CustomerAction.CUSTOMER_EXPORT)
    if effective_role(actor) == Role.MARKETING:
        consented_only = True
    filters: dict[str, Any] = {"q": q, "tag": tag, "owner_id": owner_id, "region": region,
                               "segment_id": segment_id, "facets": dict(facets or {})}
    log_action(actor=actor, action="customer.export", object_type="customers.customer",
               extra={"filters": filters, "consented_only": consented_only})
    yield export_header(readable)
    cursor: str | None = None
    while True:
        page = customer_search(actor=actor, cursor=cursor, limit=200,
                               marketing_consent=consented_only, **filters)
        granted: dict[tuple[int, str], list[str]] = {}
        for cid, purpose, channel in (Consent.objects.filter(
                customer_id__in=[c.pk for c in page.items], granted=True)
                .order_by("channel").values_list("customer_id", "purpose", "channel")):
            granted.setdefault((cid, purpose), []).append(channel)
        for c in page.items:
            identities = list(c.identities.all())
            if readable:
                agreed = ["、".join(choice_label(Channel, ch) for ch in granted.get((c.pk, p), ()))
                          for p in ConsentPurpose.values]
                codes = (choice_label(Gender, c.gender),
                         choice_label(Language, c.preferred_language),
                         choice_label(Channel, c.preferred_channel), choice_label(Source, c.source),
                         str(c.owner) if c.owner else "",
                         timezone.localtime(c.created_at).strftime("%Y-%m-%d %H:%M"))
            else:
                agreed = ["|".join(granted.get((c.pk, p), ())) for p in ConsentPurpose.values]
                codes = (c.gender, c.preferred_language, c.preferred_channel, c.source,
                         c.owner.username if c.owner else "",
                         c.created_at.astimezone(dt.UTC).replace(microsecond=0).isoformat())
            gender, language, channel, source, owner, created = codes
            yield [safe_cell(v) for v in (
                c.pk, c.display_name, c.family_name, c.given_name, gender, c.birthday or "",
                c.region, c.occupation, language, channel, source, owner,
                "|".join(link.tag.name for link in c.tag_links.all()),
                "|".join(i.value for i in identities if i.kind == IdentityKind.EMAIL),
                "|".join(i.value for i in identities if i.kind == IdentityKind.PHONE),
                created, *agreed)]
        if not page.next_cursor:
            return
        cursor = page.next_cursor
