"""Writing an import's rows (the worker side of importing.py): a chunk at a time through
the customer services, so every row gets its timeline event and audit entry like any
other change. Rows that are certainly new customers, and rows that only change profile
fields of a known customer, are written in one batch each (the same services, for many);
the others, and any batch that fails, go row by row in their own savepoints, so a bad
row leaves nothing and the report names it. Rows match
existing customers by external id, email, phone or WeChat UnionID; what a row does to an
existing customer's fields is its update policy. A dry run writes each chunk and rolls it
back, replaying first the earlier rows that share an id with it, so its counts are exact."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextvars import ContextVar
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.core.errors import Conflict, DomainError, FieldError, InvalidInput
from guanxi.core.forking import forked
from guanxi.core.permissions import Actor
from guanxi.customers import selectors as cs_selectors
from guanxi.customers import services as cs
from guanxi.customers.models import (
    Address,
    Customer,
    CustomerTag,
    Identity,
    IdentityKind,
    Order,
    Source,
)
from guanxi.customers.names import fold
from guanxi.dataquality.models import ImportJob, ImportKind, ImportRowError
from guanxi.dataquality.readers import read_rows
from guanxi.dataquality.rows import CustomerRow, OrderRow, RowInvalid, customer_row, order_row
from guanxi.dataquality.standardize import prime_addresses

CHUNK = 500
PIPELINE_FROM = 5_000  # rows left from which reading and converting run in a second process


class UpdatePolicy:
    """What a row does to a field of a customer who already exists."""

    FILL_EMPTY = "fill_empty"  # the default: only fields that are empty get the value
    OVERWRITE = "overwrite"
    NEVER = "never"
    ALL = (FILL_EMPTY, OVERWRITE, NEVER)


# Import fields whose policy decides customer fields (a name column decides the names).
POLICY_FIELDS = {"full_name": ("family_name", "given_name", "display_name"),
                 "family_name": ("family_name", "display_name"),
                 "given_name": ("given_name", "display_name")}


def _row_keys(job: ImportJob, row: Any) -> list[tuple[str, str, str]]:
    """The ids by which a converted row finds its customer (orders: the order number)."""
    if isinstance(row, CustomerRow):
        return [k[:3] for k in _customer_keys(row, job.options)]
    return [("order", row.channel, row.external_id)]


class _DryRunState:
    """What a dry run needs to predict exactly: each chunk is written and rolled back, so
    rows of earlier chunks that share an id with this chunk's rows are written again
    first (in the same rolled-back transaction) — a row matching an earlier row of the
    file is then an update, as it will be for real."""

    def __init__(self) -> None:
        self.rows: dict[int, Any] = {}  # row number -> converted row that was written
        self.keys_of: dict[int, list[tuple[str, str, str]]] = {}
        self.by_key: dict[tuple[str, str, str], list[int]] = {}

    def linked(self, keys: list[tuple[str, str, str]]) -> list[int]:
        seen: set[int] = set()
        todo = list(keys)
        while todo:
            for number in self.by_key.get(todo.pop(), []):
                if number not in seen:
                    seen.add(number)
                    todo.extend(self.keys_of[number])
        return sorted(seen)

    def remember(self, number: int, row: Any, keys: list[tuple[str, str, str]]) -> None:
        self.rows[number] = row
        self.keys_of[number] = keys
        for key in keys:
            self.by_key.setdefault(key, []).append(number)


def process_rows(job: ImportJob, actor: Actor, progress: Callable[[int, int], None] | None,
                 checkpoint: Callable[[], None] | None = None) -> None:
    """Write the rows after the job's last checkpoint, a chunk per transaction.
    `checkpoint()` runs inside each chunk's transaction before it commits (the worker
    re-asserts its lease there, so a chunk commits only while the import is its own)."""
    writer: Callable[[Any, Any, dict[str, Any]], str] = (
        _customer_write if job.kind == ImportKind.CUSTOMERS else _order_write)
    convert: Callable[..., CustomerRow | OrderRow] = (
        customer_row if job.kind == ImportKind.CUSTOMERS else order_row)
    column_of = {f: c for c, f in job.mapping.items()}
    address_columns = [c for c, f in job.mapping.items() if f == "address"]
    done = job.rows_done
    dry = _DryRunState() if job.dry_run else None

    def report(number: int, raw: dict[str, str], problems: list[FieldError],
               warning: bool) -> list[ImportRowError]:
        out = []
        for i, p in enumerate(problems):
            base = p.field.split(".", 1)[0]
            column = column_of.get(base) or column_of.get(
                {"emails": "email", "phones": "phone"}.get(base, base), "")
            out.append(ImportRowError(
                job=job, row=number, column=column, field=base, warning=warning,
                value="" if p.value is None else str(p.value)[:1000],
                reason=str(p.message), raw=raw if i == 0 else {}))
        return out

    def convert_chunk(chunk: list[tuple[int, dict[str, str]]]
                      ) -> list[tuple[int, Any, list[FieldError]]]:
        """The chunk's rows as the writer takes them (pure: no database)."""
        if address_columns:
            prime_addresses([raw.get(c, "") for _n, raw in chunk for c in address_columns])
        converted: list[tuple[int, Any, list[FieldError]]] = []
        for number, raw in chunk:
            if "__error__" in raw:
                converted.append((number, None, [FieldError("", raw["__error__"])]))
                continue
            try:
                converted.append((number, convert(raw, job.mapping, job.options), []))
            except RowInvalid as exc:
                converted.append((number, None, exc.errors))
        return converted

    def chunks() -> Iterator[tuple[list[tuple[int, dict[str, str]]],
                                   list[tuple[int, Any, list[FieldError]]]]]:
        """The rows after the last checkpoint, read and converted a chunk at a time."""
        chunk: list[tuple[int, dict[str, str]]] = []
        for index, item in enumerate(read_rows(Path(job.stored_path), job.file_format)):
            if index < job.rows_done:
                continue  # committed by an earlier run of this job
            chunk.append(item)
            if len(chunk) >= CHUNK:
                yield chunk, convert_chunk(chunk)
                chunk = []
        if chunk:
            yield chunk, convert_chunk(chunk)

    def write(chunk: list[tuple[int, dict[str, str]]],
              converted: list[tuple[int, Any, list[FieldError]]]) -> None:
        nonlocal done
        counts = {"created": 0, "updated": 0, "unchanged": 0, "failed": 0, "warned": 0}
        errors: list[ImportRowError] = []
        raws = dict(chunk)
        with transaction.atomic():
            rollback = transaction.savepoint() if dry is not None else None
            if dry is not None:
                keys = [k for _n, row, _p in converted if row is not None
                        for k in _row_keys(job, row)]
                for number in dry.linked(keys):
                    with transaction.atomic():
                        writer(actor, dry.rows[number], job.options)
            bulk: dict[int, str] = {}
            if job.kind == ImportKind.CUSTOMERS:
                # who owns each id of the chunk, read once for the batches and the rows
                owners = _Owners([k for _n, row, p in converted if row is not None and not p
                                  for k in _customer_keys(row, job.options)])
                bulk = dict.fromkeys(_bulk_create_new(actor, converted, job.options, owners),
                                     "created")
                bulk |= _bulk_update_existing(actor, converted, job.options, set(bulk),
                                              owners)
                _OWNERS.set(owners)
            for i, (number, row, problems) in enumerate(converted):
                if i in bulk:
                    outcome = bulk[i]
                elif row is not None:
                    try:
                        with transaction.atomic():
                            outcome = writer(actor, row, job.options)
                    except DomainError as exc:
                        problems = exc.errors or [FieldError("", exc.message)]
                if problems:
                    counts["failed"] += 1
                    errors += report(number, raws.get(number, {}), problems, False)
                    continue
                counts[outcome] += 1
                if dry is not None:
                    dry.remember(number, row, _row_keys(job, row))
                if getattr(row, "warnings", None):
                    counts["warned"] += 1
                    errors += report(number, raws.get(number, {}), row.warnings, True)
            _OWNERS.set(None)
            if rollback is not None:
                transaction.savepoint_rollback(rollback)  # a dry run writes nothing
            ImportRowError.objects.bulk_create(errors)
            done += len(chunk)
            ImportJob.objects.filter(pk=job.pk).update(
                rows_done=done, heartbeat_at=timezone.now(),
                **{k: F(k) + v for k, v in counts.items()})
            if checkpoint is not None:
                checkpoint()
        if progress:
            progress(done, job.total_rows or 0)

    # Large files: a forked process reads and converts the next chunks while this one
    # writes (one core each; converting is a third of an import's time).
    remaining = (job.total_rows or 0) - job.rows_done
    source = forked(chunks, "import") if remaining >= PIPELINE_FROM else chunks()
    for chunk, converted in source:
        write(chunk, converted)
    job.refresh_from_db()


# --- writing one row ----------------------------------------------------------------

class _Owners:
    """Who owns each id of a chunk's rows, read in one query before the rows are written
    and kept up to date as they are (a row may add an id a later row of the chunk has)."""

    def __init__(self, keys: Sequence[tuple[str, str, str, str]]) -> None:
        self.owners: dict[tuple[str, str, str], int] = {}
        wanted = {k[:3] for k in keys}
        for part in range(0, len(wanted), 500):
            batch = list(wanted)[part:part + 500]
            query = cs.identity_keys_q(batch)
            self.owners.update({(k, s, v): c for k, s, v, c in Identity.objects.filter(
                query).values_list("kind", "system", "value", "customer_id")})
        self.wanted = wanted
        self.customers = Customer.objects.in_bulk(set(self.owners.values()))

    def customer(self, pk: int) -> Customer | None:
        if pk not in self.customers:
            self.customers[pk] = cs_selectors.customer_for_system(pk)  # type: ignore[assignment]
        return self.customers[pk]

    def covers(self, keys: Sequence[tuple[str, str, str, str]]) -> bool:
        return all(k[:3] in self.wanted for k in keys)

    def remember(self, keys: Sequence[tuple[str, str, str, str]], customer_id: int) -> None:
        for k in keys:
            self.owners[k[:3]] = customer_id


_OWNERS: ContextVar[_Owners | None] = ContextVar("import_owners", default=None)


def _find_customer(row_keys: Sequence[tuple[str, str, str, str]],
                   fresh: bool = False) -> Customer | None:
    """The one existing customer the row's ids point at; a conflict if they disagree."""
    found: dict[int, str] = {}
    if not row_keys:
        return None
    cache = None if fresh else _OWNERS.get()
    if cache is not None and cache.covers(row_keys):
        owners = cache.owners
    else:
        query = cs.identity_keys_q([k[:3] for k in row_keys])
        owners = {(k, s, v): c for k, s, v, c in Identity.objects.filter(query).values_list(
            "kind", "system", "value", "customer_id")}
    for kind, system, value, field_name in row_keys:
        if (customer_id := owners.get((kind, system, value))) is not None:
            found.setdefault(customer_id, field_name)
    if len(found) > 1:
        (a, fa), (b, fb) = list(found.items())[:2]
        raise Conflict(_("%(f1)s belongs to customer #%(a)s but %(f2)s to customer #%(b)s")
                       % {"f1": fa, "a": a, "f2": fb, "b": b}, field_name=fb)
    if not found:
        return None
    pk = next(iter(found))
    customer = (cache.customer(pk) if cache is not None
                else cs_selectors.customer_for_system(pk))
    if customer is None and cache is not None:
        return _find_customer(row_keys, fresh=True)  # merged away since the chunk began
    return customer


def _customer_keys(row: CustomerRow, options: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """The row's ids as (kind, system, value, field) — what finds an existing customer."""
    system = str(options.get("system") or "import")[:40]
    keys: list[tuple[str, str, str, str]] = []
    if row.external_id:
        keys.append((IdentityKind.EXTERNAL, system, row.external_id, "external_id"))
    keys += [(IdentityKind.EMAIL, "", e, "email") for e in row.emails]
    keys += [(IdentityKind.PHONE, "", p, "phone") for p in row.phones]
    if row.wechat_unionid:
        keys.append((IdentityKind.WECHAT_UNIONID, "", row.wechat_unionid, "wechat_unionid"))
    return keys


def _bulk_create_new(actor: Actor, converted: list[tuple[int, Any, list[FieldError]]],
                     options: dict[str, Any], owners: _Owners) -> set[int]:
    """Create the chunk's rows that are certainly new customers (none of their ids is
    known, none shared with another row of the chunk) in one batch; returns their
    indexes. Anything unexpected leaves them to the row-by-row path, which explains."""
    keyed = {i: [k[:3] for k in _customer_keys(row, options)]
             for i, (_n, row, problems) in enumerate(converted)
             if row is not None and not problems}
    if len(keyed) < 2:
        return set()
    seen: dict[tuple[str, str, str], int] = {}
    shared: set[int] = set()
    for i, keys in keyed.items():
        for key in keys:
            if key in seen:
                shared.update({i, seen[key]})
            seen[key] = i
    fresh = [i for i, keys in keyed.items()
             if i not in shared and not any(k in owners.owners for k in keys)]
    if len(fresh) < 2:
        return set()
    news = []
    for i in fresh:
        row: CustomerRow = converted[i][1]
        news.append(cs.NewCustomer(
            family_name=row.family_name, given_name=row.given_name,
            display_name=row.display_name, emails=row.emails, phones=row.phones,
            identities=[cs.IdentityInput(kind=k, value=v, system=s_)
                        for k, s_, v, _f in _customer_keys(row, options)
                        if k in (IdentityKind.EXTERNAL, IdentityKind.WECHAT_UNIONID)],
            tags=row.tags, company_name=row.company, profile=row.profile,
            addresses=[cs.AddressInput.model_validate(row.address)] if row.address else [],
            normalized=True,
        ))
    try:
        with transaction.atomic():
            created = cs.customers_bulk_create(actor=actor, customers=news,
                                               source=options.get("source") or Source.IMPORT)
    except (DomainError, IntegrityError):
        return set()
    for i, customer in zip(fresh, created, strict=True):
        owners.remember(_customer_keys(converted[i][1], options), customer.pk)
    return set(fresh)


def _bulk_update_existing(actor: Actor, converted: list[tuple[int, Any, list[FieldError]]],
                          options: dict[str, Any], taken: set[int],
                          owners: _Owners) -> dict[int, str]:
    """Write in one batch the chunk's rows that change only profile fields of a customer
    who exists (every id of the row is already theirs, their address and tags are there,
    no other row of the chunk is about them); returns their indexes and outcomes
    ("updated", "unchanged"). Anything else is left to the row-by-row path, which also
    takes over the whole batch if it fails, to say which row."""
    keyed = {i: keys for i, (_n, row, problems) in enumerate(converted)
             if i not in taken and row is not None and not problems
             and (keys := _customer_keys(row, options))}
    if len(keyed) < 2:
        return {}
    rows_of: dict[int, list[int]] = {}
    for i, keys in keyed.items():
        found = {owners.owners.get(k[:3]) for k in keys}
        if len(found) == 1 and (pk := found.pop()) is not None:
            rows_of.setdefault(pk, []).append(i)
    one = {pk: rows[0] for pk, rows in rows_of.items() if len(rows) == 1}
    addresses: dict[int, list[tuple[str, ...]]] = {}
    for pk, *parts in Address.objects.filter(customer_id__in=list(one)).values_list(
            "customer_id", *ADDRESS_PARTS):
        addresses.setdefault(pk, []).append(tuple(parts))
    tags: dict[int, set[str]] = {}
    for pk, name in CustomerTag.objects.filter(customer_id__in=list(one)).values_list(
            "customer_id", "tag__name"):
        tags.setdefault(pk, set()).add(name)
    outcome: dict[int, str] = {}
    changes = []
    for pk, i in one.items():
        row: CustomerRow = converted[i][1]
        customer = owners.customer(pk)
        if (customer is None
                or (row.address and not _address_among(addresses.get(pk, []), row.address))
                or any(t not in tags.get(pk, set()) for t in row.tags)):
            continue
        if profile := _profile_changes(customer, row, options):
            changes.append(cs.ProfileChange(customer, profile))
            outcome[i] = "updated"
        else:
            outcome[i] = "unchanged"
    if changes:
        try:
            with transaction.atomic():
                cs.customers_update_many(actor=actor, changes=changes)
        except (DomainError, IntegrityError):
            owners.customers.clear()  # the service set fields on them before it failed
            return {}
    return outcome


ADDRESS_PARTS = ("province", "city", "district", "street")


def _address_among(have: Iterable[Sequence[str]], address: dict[str, str]) -> bool:
    """`address` is one of `have` (ADDRESS_PARTS each), however it was written
    (traditional or simplified characters, full-width digits, spaces)."""
    wanted = tuple(fold(address.get(p, "")) for p in ADDRESS_PARTS)
    return any(tuple(fold(v) for v in parts) == wanted for parts in have)


def _has_address(customer: Customer, address: dict[str, str]) -> bool:
    """The customer already has this address."""
    return _address_among(
        Address.objects.filter(customer=customer).values_list(*ADDRESS_PARTS), address)


def _policy(options: dict[str, Any], field_name: str) -> str:
    """The update policy of a customer field, from the import field that fills it."""
    update = options.get("update", {})
    for source, targets in POLICY_FIELDS.items():
        if field_name in targets and source in update:
            return str(update[source])
    return str(update.get(field_name, UpdatePolicy.FILL_EMPTY))


def _profile_changes(customer: Customer, row: CustomerRow, options: dict[str, Any]
                     ) -> dict[str, Any]:
    """What the row changes on an existing customer, field by field: by default only
    empty fields are filled (a re-import never renames 刘洋 to "Yang Liu")."""
    values = {**row.profile}
    if row.family_name or row.given_name:
        values.update(family_name=row.family_name, given_name=row.given_name,
                      display_name=row.display_name)
    changes = {}
    for name, value in values.items():
        current = getattr(customer, name)
        policy = _policy(options, name)
        if value in ("", None) or value == current or policy == UpdatePolicy.NEVER:
            continue
        if policy == UpdatePolicy.FILL_EMPTY and current not in ("", None, "unknown"):
            continue
        changes[name] = value
    return changes


def _customer_write(actor: Actor, row: CustomerRow, options: dict[str, Any]) -> str:
    keys = _customer_keys(row, options)
    customer = _find_customer(keys)
    address = cs.AddressInput.model_validate(row.address) if row.address else None
    if customer is None:
        identities = [cs.IdentityInput(kind=k, value=v, system=s)
                      for k, s, v, _f in keys if k in (IdentityKind.EXTERNAL,
                                                       IdentityKind.WECHAT_UNIONID)]
        created = cs.customer_create(
            actor=actor, family_name=row.family_name, given_name=row.given_name,
            display_name=row.display_name, emails=row.emails, phones=row.phones,
            identities=identities, tags=row.tags,
            addresses=[address] if address else [], company_name=row.company,
            source=options.get("source") or Source.IMPORT, **row.profile)
        if (cache := _OWNERS.get()) is not None:
            cache.remember(keys, created.pk)
        return "created"
    changed = False
    profile = _profile_changes(customer, row, options)
    if profile:
        cs.customer_update(actor=actor, customer=customer, **profile)
        changed = True
    existing = set(customer.identities.values_list("kind", "system", "value"))
    for kind, sys_, value, _f in keys:
        if (kind, sys_, value) not in existing:
            cs.identity_add(actor=actor, customer=customer, kind=kind, value=value,
                            system=sys_)
            if (cache := _OWNERS.get()) is not None:
                cache.remember([(kind, sys_, value, "")], customer.pk)
            changed = True
    if address and not _has_address(customer, row.address):
        cs.address_add(actor=actor, customer=customer, address=address)
        changed = True
    have = set(customer.tag_links.values_list("tag__name", flat=True))
    for tag in row.tags:
        if tag not in have:
            cs.tag_add(actor=actor, customer=customer, name=tag)
            changed = True
    return "updated" if changed else "unchanged"


def _order_write(actor: Actor, row: OrderRow, options: dict[str, Any]) -> str:
    if Order.objects.filter(channel=row.channel, external_id=row.external_id).exists():
        return "unchanged"
    system = str(options.get("customer_system") or options.get("system") or "import")[:40]
    keys = []
    if row.customer_external_id:
        keys.append((IdentityKind.EXTERNAL, system, row.customer_external_id,
                     "customer_external_id"))
    if row.customer_email:
        keys.append((IdentityKind.EMAIL, "", row.customer_email, "customer_email"))
    if row.customer_phone:
        keys.append((IdentityKind.PHONE, "", row.customer_phone, "customer_phone"))
    customer = _find_customer(keys)
    if customer is None:
        field_name = keys[0][3]
        raise InvalidInput.single(field_name, _("No customer with this number, email or "
                                                "phone; import the customers first"),
                                  keys[0][2])
    quantity = row.quantity or 1
    unit_price = row.unit_price if row.unit_price is not None else (
        (row.total / quantity).quantize(Decimal("0.01")) if row.total is not None else None)
    line = cs.OrderLineInput(sku=row.sku or "IMPORTED", quantity=quantity,
                             unit_price=unit_price,
                             name=row.product_name or _("Imported order"))
    cs.order_create(actor=actor, customer=customer, lines=[line], channel=row.channel,
                    store=row.store, currency=row.currency, status=row.status,
                    placed_at=row.placed_at, external_id=row.external_id)
    return "created"
