"""Reads of customer data. Every read goes through visible_customers(), which applies the
actor's role: deny by default, team scope for sales, masked personal data for analysts."""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from django.core.cache import cache
from django.db.models import Count, Max, Min, Model, Prefetch, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.core.cursors import (
    Page,
    SortKey,
    decode_cursor,
    encode_cursor,
    keyset_page,
    sorted_page,
)
from guanxi.core.errors import NotFound
from guanxi.core.masking import mask_email, mask_free_text, mask_phone, mask_text, mask_value
from guanxi.core.models import WorkItem
from guanxi.core.permissions import Actor, is_team_scoped, require, sees_masked, staff
from guanxi.customers import extensions, search
from guanxi.customers.models import (
    Address,
    Channel,
    Consent,
    ConsentPurpose,
    Customer,
    CustomerTag,
    Event,
    FollowUp,
    Identity,
    IdentityKind,
    Order,
    OrderStatus,
    Product,
    RecentView,
    SearchTerm,
    Tag,
)
from guanxi.customers.permissions import CustomerAction
from guanxi.customers.regions import RegionChoice, region_tree
from guanxi.timeline.kinds import masked_data

MAX_PAGE = 200
M = TypeVar("M", bound=Model)

# The orders the customer list offers (without a search query; with one, best match
# first). Each is a keyset on an indexed (column, id) pair.
CUSTOMER_SORTS: dict[str, SortKey] = {
    "-created": SortKey("pk", "id", descending=True),
    "created": SortKey("pk", "id"),
    "name": SortKey("display_name"),
    "-name": SortKey("display_name", descending=True),
    "region": SortKey("region"),
    "-region": SortKey("region", descending=True),
}
DEFAULT_SORT = "-created"
COUNT_CAP = 1000  # a search query's matches are counted up to this many


def visible_customers(actor: Actor) -> QuerySet[Customer]:
    require(actor, CustomerAction.CUSTOMER_VIEW)
    return Customer.objects.filter(_filters_q(actor, tag="", owner_id=None, region=""))


def customer_is_visible(actor: Actor, customer: Customer) -> bool:
    if actor is None:  # system jobs
        return True
    if not is_team_scoped(actor):
        return True
    if customer.owner_id == actor.pk:
        return True
    owner = customer.owner
    return bool(actor.team_id) and owner is not None and owner.team_id == actor.team_id


def _mask_identity(identity: Identity) -> None:
    identity._masked = True  # type: ignore[attr-defined]
    if identity.kind == IdentityKind.PHONE:
        identity.value = mask_phone(identity.value)
    elif identity.kind == IdentityKind.EMAIL:
        identity.value = mask_email(identity.value)
    else:
        identity.value = mask_text(identity.value)


def mask_for(actor: Actor, customers: Iterable[Customer]) -> None:
    """Replace personal data in loaded instances for roles that see it masked."""
    if not sees_masked(actor):
        return
    for customer in customers:
        customer._masked = True  # type: ignore[attr-defined]
        customer.birthday = None
        customer.attributes = mask_value(customer.attributes)
        if "identities" in getattr(customer, "_prefetched_objects_cache", {}):
            for identity in customer.identities.all():
                _mask_identity(identity)
        if "addresses" in getattr(customer, "_prefetched_objects_cache", {}):
            for address in customer.addresses.all():
                address.street = mask_text(address.street)
                address._masked = True  # type: ignore[attr-defined]


def _list_prefetch(qs: QuerySet[Customer]) -> QuerySet[Customer]:
    return qs.select_related("owner").prefetch_related(
        Prefetch("identities", queryset=Identity.objects.order_by("kind", "-is_primary", "id")),
        Prefetch("tag_links", queryset=CustomerTag.objects.select_related("tag")))


def _after(prefix: str) -> str:
    """The first code after every code starting with the digits `prefix` ("33" -> "34";
    "39" -> "3:", which sorts after "39…")."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _filters_q(actor: Actor, *, tag: str, owner_id: int | None, region: str,
               prefix: str = "", segment_id: int | None = None,
               marketing_consent: bool = False, facets: Mapping[str, str] | None = None,
               with_erased: bool = False) -> Q:
    """The scope and filters as a Q, relative to Customer or through a relation prefix
    (erased customers left out unless `with_erased`)."""
    def p(name: str) -> str:
        return prefix + name

    q = Q() if with_erased else Q(**{p("erased_at__isnull"): True})
    if is_team_scoped(actor):
        scope = Q(**{p("owner_id"): actor.pk})
        if actor.team_id:
            scope |= Q(**{p("owner__team_id"): actor.team_id})
        q &= scope
    if tag:
        q &= Q(**{p("tag_links__tag__name"): tag})
    if owner_id:
        q &= Q(**{p("owner_id"): owner_id})
    if region:
        # A division code prefix from the region picker (33: 浙江省, 3301: 杭州市) finds
        # every spelling; a text (the API's, older links) matches how regions start.
        # (a range rather than LIKE, which SQLite cannot answer from the index)
        q &= (Q(**{p("region_code__gte"): region, p("region_code__lt"): _after(region)})
              if region.isdigit() else Q(**{p("region__startswith"): region}))
    if segment_id:
        # Current members (analytics keeps the memberships; at most one open per segment).
        q &= Q(**{p("segment_memberships__segment_id"): segment_id,
                  p("segment_memberships__left_at__isnull"): True})
    if facets:
        q &= Q(**extensions.facet_lookups(facets, prefix))
    if marketing_consent:
        q &= Q(**{p("id__in"): Consent.objects.filter(
            purpose=ConsentPurpose.MARKETING, granted=True).values("customer_id")})
    return q


def _search_ranges(query: search.Query) -> list[Q]:
    ranges = [Q(term__in=query.exact)] if query.exact else []
    return ranges + [Q(term__gte=lo, term__lt=hi)
                     for lo, hi in map(search.prefix_range, query.prefixes)]


def customer_search(*, actor: Actor, q: str = "", tag: str = "", owner_id: int | None = None,
                    region: str = "", segment_id: int | None = None,
                    cursor: str | None = None, before: str | None = None, limit: int = 25,
                    marketing_consent: bool = False, sort: str = DEFAULT_SORT,
                    facets: Mapping[str, str] | None = None) -> Page[Customer]:
    """Instant search and filters. With a query, results come from the search-term index
    in term order (best match first, next pages only); without one, in `sort` order (a
    key of CUSTOMER_SORTS) with keyset cursors both ways."""
    require(actor, CustomerAction.CUSTOMER_VIEW)
    limit = max(1, min(limit, MAX_PAGE))
    query = search.query_terms(q, whole_contacts_only=sees_masked(actor))
    if q.strip() and not query:
        return Page(items=[])
    if query:
        filters = _filters_q(actor, tag=tag, owner_id=owner_id, region=region,
                             prefix="customer__", segment_id=segment_id,
                             marketing_consent=marketing_consent, facets=facets)
        after = decode_cursor(cursor)
        offset = int(after[0]) if after else 0
        # One query per range, merged here: ranges joined by OR under ORDER BY term LIMIT
        # made PostgreSQL walk the whole term index (16 s at 10M terms).
        wanted = offset + limit * 8
        merged = heapq.merge(*(
            list(SearchTerm.objects.filter(r).filter(filters).order_by("term")
                 .values_list("term", "customer_id")[:wanted]) for r in _search_ranges(query)))
        rows = [cid for _term, cid in merged][offset:wanted]
        # Walk the index in term order, de-duplicating customers, until the page is full.
        ids: list[int] = []
        next_cursor = None
        for position, cid in enumerate(rows):
            if cid in ids:
                continue
            if len(ids) == limit:
                next_cursor = encode_cursor([offset + position])
                break
            ids.append(cid)
        by_id = {c.pk: c for c in _list_prefetch(Customer.objects.filter(pk__in=ids))}
        items = [by_id[i] for i in ids if i in by_id]
        page: Page[Customer] = Page(items=items, next_cursor=next_cursor)
    else:
        qs = Customer.objects.filter(
            _filters_q(actor, tag=tag, owner_id=owner_id, region=region, segment_id=segment_id,
                       marketing_consent=marketing_consent, facets=facets))
        page = sorted_page(qs, sort=CUSTOMER_SORTS.get(sort, CUSTOMER_SORTS[DEFAULT_SORT]),
                           cursor=cursor, before=before, limit=limit, prepare=_list_prefetch)
    mask_for(actor, page.items)
    return page


def customer_search_count(*, actor: Actor, q: str = "", tag: str = "",
                          owner_id: int | None = None, region: str = "",
                          segment_id: int | None = None, marketing_consent: bool = False,
                          facets: Mapping[str, str] | None = None) -> tuple[int, bool]:
    """How many customers customer_search finds with these filters, and whether that is
    exact: a search query's matches are counted up to COUNT_CAP (then "1,000+")."""
    require(actor, CustomerAction.CUSTOMER_VIEW)
    query = search.query_terms(q, whole_contacts_only=sees_masked(actor))
    if q.strip() and not query:
        return 0, True
    if not query:
        # Everyone matching, minus the erased among them: both from indexes (the erased
        # through a partial one), where "erased_at IS NULL" would read every row.
        matching = Customer.objects.filter(_filters_q(
            actor, tag=tag, owner_id=owner_id, region=region, segment_id=segment_id,
            marketing_consent=marketing_consent, facets=facets, with_erased=True))
        return matching.count() - matching.filter(erased_at__isnull=False).count(), True
    found = _search_matches(query, _filters_q(
        actor, tag=tag, owner_id=owner_id, region=region, prefix="customer__",
        segment_id=segment_id, marketing_consent=marketing_consent, facets=facets))
    return min(len(found), COUNT_CAP), len(found) <= COUNT_CAP


def _search_matches(query: search.Query, filters: Q) -> set[int]:
    """The customers a search query finds under `filters` (relative to SearchTerm), up to
    one more than COUNT_CAP."""
    found: set[int] = set()
    for r in _search_ranges(query):
        found.update(SearchTerm.objects.filter(r).filter(filters)
                     .values_list("customer_id", flat=True)[:COUNT_CAP + 1])
    return found


def customer_ids_matching(*, actor: Actor, q: str = "", tag: str = "",
                          owner_id: int | None = None, region: str = "",
                          segment_id: int | None = None, after_id: int = 0,
                          limit: int = 500, facets: Mapping[str, str] | None = None
                          ) -> list[int]:
    """The ids of the customers customer_search finds, ascending from `after_id`, for
    bulk actions on "all N matching" (a search query gives its first COUNT_CAP matches)."""
    require(actor, CustomerAction.CUSTOMER_VIEW)
    query = search.query_terms(q, whole_contacts_only=sees_masked(actor))
    if q.strip() and not query:
        return []
    qs = Customer.objects.filter(_filters_q(actor, tag=tag, owner_id=owner_id, region=region,
                                            segment_id=segment_id, facets=facets), pk__gt=after_id)
    if query:
        ids = _search_matches(query, _filters_q(
            actor, tag=tag, owner_id=owner_id, region=region, prefix="customer__",
            segment_id=segment_id, facets=facets))
        qs = qs.filter(pk__in=sorted(ids)[:COUNT_CAP])
    return list(qs.order_by("pk").values_list("pk", flat=True)[:limit])


def customer_get(*, actor: Actor, customer_id: int) -> Customer:
    """One customer for reading (masked where the role requires)."""
    customer = (_list_prefetch(visible_customers(actor)).select_related("company")
                .prefetch_related("addresses").filter(pk=customer_id).first())
    if customer is None:
        raise NotFound("Customer not found")
    mask_for(actor, [customer])
    return customer


def customer_known_since(*, actor: Actor, customer_id: int) -> dt.datetime | None:
    """When the customer became known (created), if the actor can see them: one indexed
    read, for panels that need no more of the customer."""
    return (visible_customers(actor).filter(pk=customer_id)
            .values_list("created_at", flat=True).first())


def customer_for_system(customer_id: int) -> Customer | None:
    """One customer for Guanxi's own jobs (automation steps, imports), which act for no
    person; None if the customer is gone (merged or deleted since the job was queued)."""
    return Customer.objects.filter(pk=customer_id).first()


def customer_for_change(*, actor: Actor, customer_id: int) -> Customer:
    """One customer, unmasked, for passing to a service (which checks the action)."""
    customer = visible_customers(actor).select_related("owner").filter(pk=customer_id).first()
    if customer is None:
        raise NotFound("Customer not found")
    return customer


@dataclass
class SpendSummary:
    orders: int = 0
    paid_orders: int = 0
    totals: dict[str, Decimal] = field(default_factory=dict)
    first_order_at: dt.datetime | None = None
    last_order_at: dt.datetime | None = None

    @property
    def average(self) -> dict[str, Decimal]:
        if not self.paid_orders:
            return {}
        return {cur: (amount / self.paid_orders).quantize(Decimal("0.01"))
                for cur, amount in self.totals.items()}


@dataclass
class ConsentState:
    channel: str
    channel_label: str
    purpose: str
    purpose_label: str
    granted: bool
    explicit: bool
    changed_at: dt.datetime | None
    source: str
    notice: str = ""


@dataclass
class Customer360:
    customer: Customer
    identities: list[Identity]
    addresses: list[Address]
    consents: list[ConsentState]
    tags: list[Tag]
    spend: SpendSummary
    recent_orders: list[Order]
    timeline: Page[Event]
    follow_ups: list[FollowUp] = field(default_factory=list)


def consent_default(purpose: str) -> bool:
    """Without a recorded answer, only service messages are allowed; marketing is off."""
    return purpose == ConsentPurpose.SERVICE


def consent_allows(customer: Customer, channel: str, purpose: str) -> bool:
    row = Consent.objects.filter(customer=customer, channel=channel, purpose=purpose).first()
    return row.granted if row else consent_default(purpose)


def customer_tags(customer: Customer) -> list[Tag]:
    return [link.tag for link in customer.tag_links.all()]


def consent_states(customer: Customer) -> list[ConsentState]:
    """Every channel × purpose, with the recorded answer or the default."""
    recorded = {(c.channel, c.purpose): c for c in customer.consents.all()}
    states = []
    for channel, channel_label in Channel.choices:
        for purpose, purpose_label in ConsentPurpose.choices:
            row = recorded.get((channel, purpose))
            states.append(ConsentState(
                channel=channel, channel_label=str(channel_label), purpose=purpose,
                purpose_label=str(purpose_label),
                granted=row.granted if row else consent_default(purpose),
                explicit=row is not None, changed_at=row.changed_at if row else None,
                source=row.source if row else "", notice=row.notice if row else ""))
    return states


def spend_summary(customer_id: int) -> SpendSummary:
    summary = SpendSummary()
    rows = (Order.objects.filter(customer_id=customer_id).values("currency", "status")
            .annotate(n=Count("id"), total=Sum("total"), first=Min("placed_at"),
                      last=Max("placed_at")))
    for row in rows:
        summary.orders += row["n"]
        if row["status"] == OrderStatus.PAID:
            summary.paid_orders += row["n"]
            summary.totals[row["currency"]] = summary.totals.get(
                row["currency"], Decimal("0")) + row["total"]
        if summary.first_order_at is None or row["first"] < summary.first_order_at:
            summary.first_order_at = row["first"]
        if summary.last_order_at is None or row["last"] > summary.last_order_at:
            summary.last_order_at = row["last"]
    return summary


def timeline(*, actor: Actor, customer_id: int, cursor: str | None = None, limit: int = 20,
             kind: str = "") -> Page[Event]:
    if not visible_customers(actor).filter(pk=customer_id).exists():
        raise NotFound("Customer not found")
    return _timeline(actor, customer_id, cursor, limit, kind)


def _timeline(actor: Actor, customer_id: int, cursor: str | None, limit: int,
              kind: str = "") -> Page[Event]:
    limit = max(1, min(limit, MAX_PAGE))
    qs = Event.objects.filter(customer_id=customer_id).select_related("actor")
    if kind:
        qs = qs.filter(kind=kind)
    after = decode_cursor(cursor, kinds=("datetime", "id"))
    if after:
        at = after[0]
        qs = qs.filter(Q(occurred_at__lt=at) | Q(occurred_at=at, pk__lt=int(after[1])))
    events = list(qs.order_by("-occurred_at", "-pk")[:limit + 1])
    next_cursor = None
    if len(events) > limit:
        last = events[limit - 1]
        next_cursor = encode_cursor([last.occurred_at.isoformat(), last.pk])
        events = events[:limit]
    if sees_masked(actor):
        for event in events:
            event.data = masked_data(event.kind, event.data or {})
            event.summary = mask_free_text(event.summary)
            event._masked = True  # type: ignore[attr-defined]
    return Page(items=events, next_cursor=next_cursor)


def customer_360(*, actor: Actor, customer_id: int, timeline_limit: int = 20) -> Customer360:
    customer = customer_get(actor=actor, customer_id=customer_id)
    return Customer360(
        customer=customer,
        identities=list(customer.identities.all()),
        addresses=list(customer.addresses.all()),
        consents=consent_states(customer),
        tags=customer_tags(customer),
        spend=spend_summary(customer.pk),
        recent_orders=list(Order.objects.filter(customer_id=customer.pk)
                           .order_by("-placed_at")[:10]),
        timeline=_timeline(actor, customer.pk, None, timeline_limit),
        follow_ups=list(FollowUp.objects.filter(customer_id=customer.pk, done_at__isnull=True)
                        .select_related("assignee").order_by("due_on", "pk")),
    )


def orders_list(*, actor: Actor, customer_id: int | None = None, cursor: str | None = None,
                limit: int = 50) -> Page[Order]:
    limit = max(1, min(limit, MAX_PAGE))
    qs = Order.objects.filter(customer__in=visible_customers(actor)).prefetch_related("lines")
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    return keyset_page(qs, cursor=cursor, limit=limit)


def order_get(*, actor: Actor, order_id: int) -> Order:
    order = (Order.objects.filter(customer__in=visible_customers(actor), pk=order_id)
             .select_related("customer", "customer__owner").prefetch_related("lines").first())
    if order is None:
        raise NotFound("Order not found")
    return order


def _customer_child_get(model: type[M], *, actor: Actor, customer_id: int, pk: int) -> M:
    """A row that belongs to a customer the actor can see, or NotFound."""
    row = (model.objects.filter(customer__in=visible_customers(actor),  # type: ignore[attr-defined]
                                customer_id=customer_id, pk=pk)
           .select_related("customer", "customer__owner").first())
    if row is None:
        raise NotFound(f"{model._meta.verbose_name} not found")
    return row


def identity_get(*, actor: Actor, customer_id: int, identity_id: int) -> Identity:
    return _customer_child_get(Identity, actor=actor, customer_id=customer_id, pk=identity_id)


def product_list(*, actor: Actor) -> QuerySet[Product]:
    require(actor, CustomerAction.CUSTOMER_VIEW)
    return Product.objects.order_by("sku")


def address_get(*, actor: Actor, customer_id: int, address_id: int) -> Address:
    return _customer_child_get(Address, actor=actor, customer_id=customer_id, pk=address_id)


def tag_list() -> QuerySet[Tag]:
    return Tag.objects.order_by("name")


def region_list(*, actor: Actor) -> list[RegionChoice]:
    """The region picker's tree (省 → 市 → 区) of the regions the actor's customers are
    in; cached a few minutes, as it reads every customer's code."""
    key = f"regions:{actor.pk if is_team_scoped(actor) else 'all'}"

    def load() -> list[RegionChoice]:
        codes = (visible_customers(actor).exclude(region_code="").order_by("region_code")
                 .values_list("region_code", flat=True).distinct())
        return region_tree(codes)

    regions: list[RegionChoice] = cache.get_or_set(key, load, 300) or []
    return regions


def bulk_job_get(*, actor: Actor, item_id: int) -> WorkItem:
    """A queued bulk action, for the person who started it."""
    item = WorkItem.objects.filter(pk=item_id, queue=extensions.BULK_QUEUE).first()
    if item is None or item.payload.get("actor_id") != getattr(actor, "pk", None):
        raise NotFound(_("Bulk action not found"))
    return item


def follow_ups_due(*, actor: Actor, days: int = 7, limit: int = 10) -> list[FollowUp]:
    """The actor's open follow-ups due within `days` (overdue first), on customers they
    can still see."""
    require(actor, CustomerAction.CUSTOMER_VIEW)
    until = timezone.localdate() + dt.timedelta(days=days)
    return list(FollowUp.objects.filter(assignee_id=getattr(actor, "pk", None),
                                        done_at__isnull=True, due_on__lte=until,
                                        customer__in=visible_customers(actor))
                .select_related("customer").order_by("due_on", "pk")[:limit])


def follow_up_get(*, actor: Actor, follow_up_id: int) -> FollowUp:
    found = FollowUp.objects.filter(pk=follow_up_id, customer__in=visible_customers(actor)
                                    ).select_related("customer").first()
    if found is None:
        raise NotFound("Follow-up not found")
    return found


def recently_viewed(*, actor: Actor, limit: int = 8) -> list[Customer]:
    """The customers the actor opened last, newest first (those still visible)."""
    user = staff(actor)
    if user is None:
        return []
    ids = list(RecentView.objects.filter(user=user)
               .order_by("-viewed_at").values_list("customer_id", flat=True)[:limit * 2])
    by_id = {c.pk: c for c in visible_customers(actor).filter(pk__in=ids)}
    return [by_id[i] for i in ids if i in by_id][:limit]


@dataclass
class CompanyView:
    company: Any
    contacts: list[Customer]
    orders: list[Order]
    spend: dict[str, Decimal]


def company_list(*, actor: Actor) -> list[Any]:
    """Companies with how many of the actor's visible customers belong to each."""
    from guanxi.customers.models import Company

    require(actor, CustomerAction.CUSTOMER_VIEW)
    return list(Company.objects.select_related("owner").annotate(
        contacts=Count("customers", filter=Q(customers__in=visible_customers(actor))))
        .order_by("name"))


def company_get(*, actor: Actor, company_id: int) -> CompanyView:
    """A company's page: its contacts the actor can see, their latest orders and spend."""
    from guanxi.customers.models import Company

    require(actor, CustomerAction.CUSTOMER_VIEW)
    company = Company.objects.select_related("owner").filter(pk=company_id).first()
    if company is None:
        raise NotFound("Company not found")
    contacts = list(_list_prefetch(visible_customers(actor).filter(company=company))
                    .order_by("display_name")[:200])
    mask_for(actor, contacts)
    paid = Order.objects.filter(customer__in=[c.pk for c in contacts], status=OrderStatus.PAID)
    spend = {row["currency"]: row["s"] for row in
             paid.values("currency").annotate(s=Sum("total")).order_by()}
    orders = list(Order.objects.filter(customer__in=[c.pk for c in contacts])
                  .select_related("customer").order_by("-placed_at")[:20])
    return CompanyView(company, contacts, orders, spend)
