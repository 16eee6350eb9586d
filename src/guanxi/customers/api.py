"""REST endpoints for customers, identities, consent, tags, orders and events."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from ninja.responses import Status

from guanxi.accounts.selectors import staff_get
from guanxi.core.apitypes import Id, Limit
from guanxi.core.errors import Conflict, PreconditionFailed
from guanxi.customers import extensions, selectors, services
from guanxi.customers.schemas import (
    AddressIn,
    AddressOut,
    ConsentIn,
    ConsentOut,
    Customer360Out,
    CustomerIn,
    CustomerOut,
    CustomerPage,
    CustomerPatch,
    EventBulkIn,
    EventBulkOut,
    EventOut,
    EventPage,
    IdentityIn,
    IdentityOut,
    InteractionIn,
    OrderIn,
    OrderOut,
    OrderPage,
    OrderStatusIn,
    ProductIn,
    ProductOut,
    TagIn,
)

router = Router(tags=["customers"])


class CustomerFilters(Schema):
    q: str = ""
    tag: str = ""
    owner_id: Id | None = None
    region: str = ""
    segment_id: Id | None = None
    cursor: str | None = None
    limit: Limit = 25


@router.get("/customers", response=CustomerPage, summary="Search and list customers")
def customers_list(request: HttpRequest, filters: Query[CustomerFilters]) -> Any:
    return selectors.customer_search(actor=request.user, **filters.dict())


@router.post("/customers", response={201: CustomerOut}, summary="Create a customer")
def customers_create(request: HttpRequest, payload: CustomerIn) -> Any:
    data = payload.model_dump(exclude={"identities", "addresses"})
    if data.pop("check_duplicates"):
        found = extensions.possible_duplicates(
            actor=request.user, full_name=data["full_name"], family_name=data["family_name"],
            given_name=data["given_name"], emails=tuple(data["emails"]),
            phones=tuple(data["phones"]), birthday=data["birthday"])
        if found:
            raise Conflict(_("This customer may already exist"), extra={
                "possible_duplicates": [{"id": c.pk, "display_name": c.display_name}
                                        for c in found]})
    owner_id = data.pop("owner_id")
    owner = staff_get(user_id=owner_id) if owner_id else None
    customer = services.customer_create(actor=request.user, owner=owner,
                                        identities=payload.identities,
                                        addresses=payload.addresses, **data)
    return Status(201, selectors.customer_get(actor=request.user, customer_id=customer.pk))


def _etag(version: int) -> str:
    return f'"{version}"'


def _if_match(request: HttpRequest) -> int | None:
    """The version an If-Match header names (None without one, or with *)."""
    header = request.headers.get("If-Match", "").strip()
    if not header or header == "*":
        return None
    tag = header.removeprefix("W/").strip().strip('"')
    if not tag.isdigit() or len(tag) > 18:
        raise PreconditionFailed(
            'If-Match must be the ETag of GET /customers/{id}, such as "3"',
            current_version=0)
    return int(tag)


@router.get("/customers/{customer_id}", response=Customer360Out,
            summary="The 360° view of a customer",
            description="The ETag header carries the customer's version (for If-Match).")
def customers_get(request: HttpRequest, response: HttpResponse, customer_id: Id) -> Any:
    view = selectors.customer_360(actor=request.user, customer_id=customer_id)
    response["ETag"] = _etag(view.customer.version)
    return view


@router.patch("/customers/{customer_id}", response=CustomerOut, summary="Change a customer",
              description='Send If-Match: "<version>" (the ETag of the GET) so a change made '
                          "meanwhile by someone else is not overwritten: 412 if the customer "
                          "changed since.")
def customers_update(request: HttpRequest, response: HttpResponse, customer_id: Id,
                     payload: CustomerPatch) -> Any:
    customer = selectors.customer_for_change(actor=request.user, customer_id=customer_id)
    changes = payload.dict(exclude_unset=True)
    if "owner_id" in changes:
        owner_id = changes.pop("owner_id")
        changes["owner"] = staff_get(user_id=owner_id) if owner_id else None
    services.customer_update(actor=request.user, customer=customer,
                             expected_version=_if_match(request), **changes)
    updated = selectors.customer_get(actor=request.user, customer_id=customer_id)
    response["ETag"] = _etag(updated.version)
    return updated


@router.delete("/customers/{customer_id}", response={204: None}, summary="Delete a customer")
def customers_delete(request: HttpRequest, customer_id: Id) -> Any:
    customer = selectors.customer_for_change(actor=request.user, customer_id=customer_id)
    services.customer_delete(actor=request.user, customer=customer)
    return Status(204, None)


@router.get("/customers/{customer_id}/identities", response=list[IdentityOut])
def identities_list(request: HttpRequest, customer_id: Id) -> Any:
    return list(selectors.customer_get(actor=request.user,
                                       customer_id=customer_id).identities.all())


@router.post("/customers/{customer_id}/identities", response={201: IdentityOut})
def identities_add(request: HttpRequest, customer_id: Id, payload: IdentityIn) -> Any:
    customer = selectors.customer_for_change(actor=request.user, customer_id=customer_id)
    identity = services.identity_add(actor=request.user, customer=customer, **payload.model_dump())
    return Status(201, identity)


@router.delete("/customers/{customer_id}/identities/{identity_id}", response={204: None})
def identities_remove(request: HttpRequest, customer_id: Id, identity_id: Id) -> Any:
    identity = selectors.identity_get(actor=request.user, customer_id=customer_id,
                                      identity_id=identity_id)
    services.identity_remove(actor=request.user, identity=identity)
    return Status(204, None)


@router.post("/customers/{customer_id}/addresses", response={201: AddressOut})
def addresses_add(request: HttpRequest, customer_id: Id, payload: AddressIn) -> Any:
    customer = selectors.customer_for_change(actor=request.user, customer_id=customer_id)
    address = services.address_add(actor=request.user, customer=customer,
                                   address=payload)
    return Status(201, address)


@router.delete("/customers/{customer_id}/addresses/{address_id}", response={204: None})
def addresses_remove(request: HttpRequest, customer_id: Id, address_id: Id) -> Any:
    address = selectors.address_get(actor=request.user, customer_id=customer_id,
                                    address_id=address_id)
    services.address_remove(actor=request.user, address=address)
    return Status(204, None)


@router.get("/products", response=list[ProductOut], tags=["orders"])
def products_list(request: HttpRequest) -> Any:
    return list(selectors.product_list(actor=request.user)[:1000])


@router.put("/products", response=ProductOut, tags=["orders"],
            summary="Create or update a product by SKU")
def products_upsert(request: HttpRequest, payload: ProductIn) -> Any:
    return services.product_upsert(actor=request.user, **payload.model_dump())


@router.get("/customers/{customer_id}/consents", response=list[ConsentOut])
def consents_list(request: HttpRequest, customer_id: Id) -> Any:
    customer = selectors.customer_get(actor=request.user, customer_id=customer_id)
    return selectors.consent_states(customer)


@router.put("/customers/{customer_id}/consents", response=ConsentOut,
            summary="Record a consent answer for one channel and purpose")
def consents_set(request: HttpRequest, customer_id: Id, payload: ConsentIn) -> Any:
    customer = selectors.customer_for_change(actor=request.user, customer_id=customer_id)
    consent = services.consent_set(actor=request.user, customer=customer, **payload.model_dump())
    return {"channel": consent.channel, "purpose": consent.purpose, "granted": consent.granted,
            "explicit": True, "changed_at": consent.changed_at, "source": consent.source,
            "notice": consent.notice}


@router.get("/customers/{customer_id}/tags", response=list[str])
def tags_list(request: HttpRequest, customer_id: Id) -> Any:
    customer = selectors.customer_get(actor=request.user, customer_id=customer_id)
    return [tag.name for tag in selectors.customer_tags(customer)]


@router.post("/customers/{customer_id}/tags", response={201: list[str]})
def tags_add(request: HttpRequest, customer_id: Id, payload: TagIn) -> Any:
    customer = selectors.customer_for_change(actor=request.user, customer_id=customer_id)
    services.tag_add(actor=request.user, customer=customer, name=payload.name)
    return Status(201, tags_list(request, customer_id))


@router.delete("/customers/{customer_id}/tags/{name}", response={204: None})
def tags_remove(request: HttpRequest, customer_id: Id, name: str) -> Any:
    customer = selectors.customer_for_change(actor=request.user, customer_id=customer_id)
    services.tag_remove(actor=request.user, customer=customer, name=name)
    return Status(204, None)


@router.get("/customers/{customer_id}/events", response=EventPage, summary="The timeline")
def events_list(request: HttpRequest, customer_id: Id, cursor: str | None = None,
                limit: Limit = 50, kind: str = "") -> Any:
    return selectors.timeline(actor=request.user, customer_id=customer_id, cursor=cursor,
                              limit=limit, kind=kind)


@router.post("/customers/{customer_id}/interactions", response={201: EventOut},
             summary="Log a call, visit or note")
def interactions_log(request: HttpRequest, customer_id: Id, payload: InteractionIn) -> Any:
    customer = selectors.customer_for_change(actor=request.user, customer_id=customer_id)
    event = services.interaction_log(actor=request.user, customer=customer, **payload.model_dump())
    return Status(201, event)


@router.post("/events/bulk", response=EventBulkOut, tags=["events"],
             summary="Ingest up to 1,000 events; repeated idempotency keys add nothing")
def events_bulk(request: HttpRequest, payload: EventBulkIn) -> Any:
    events = [services.EventInput(
        kind=e.kind, occurred_at=e.occurred_at, customer_id=e.customer_id,
        identity=services.IdentityInput(kind=e.identity.kind, value=e.identity.value,
                                        system=e.identity.system) if e.identity else None,
        channel=e.channel, source=e.source, summary=e.summary, data=e.data,
        idempotency_key=e.idempotency_key) for e in payload.events]
    return services.events_ingest(actor=request.user, events=events)


@router.get("/orders", response=OrderPage, tags=["orders"])
def orders_list(request: HttpRequest, customer_id: Id | None = None,
                cursor: str | None = None, limit: Limit = 50) -> Any:
    return selectors.orders_list(actor=request.user, customer_id=customer_id, cursor=cursor,
                                 limit=limit)


@router.post("/orders", response={201: OrderOut}, tags=["orders"])
def orders_create(request: HttpRequest, payload: OrderIn) -> Any:
    data = payload.dict()
    customer = selectors.customer_for_change(actor=request.user,
                                             customer_id=data.pop("customer_id"))
    lines = [services.OrderLineInput(**line) for line in data.pop("lines")]
    order = services.order_create(actor=request.user, customer=customer, lines=lines, **data)
    return Status(201, selectors.order_get(actor=request.user, order_id=order.pk))


@router.get("/orders/{order_id}", response=OrderOut, tags=["orders"])
def orders_get(request: HttpRequest, order_id: Id) -> Any:
    return selectors.order_get(actor=request.user, order_id=order_id)


@router.post("/orders/{order_id}/status", response=OrderOut, tags=["orders"])
def orders_status(request: HttpRequest, order_id: Id, payload: OrderStatusIn) -> Any:
    order = selectors.order_get(actor=request.user, order_id=order_id)
    services.order_set_status(actor=request.user, order=order, status=payload.status)
    return selectors.order_get(actor=request.user, order_id=order_id)

