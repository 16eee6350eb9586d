"""API schemas (django-ninja / pydantic) for customers, orders and events."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from ninja import Schema
from pydantic import BaseModel, Field, field_validator

from guanxi.core.apitypes import Id, Moment
from guanxi.customers.services.addresses import AddressInput
from guanxi.customers.services.identities import IdentityInput

# The inputs the services take are the request bodies: one definition each.
IdentityIn = IdentityInput
AddressIn = AddressInput


class IdentityOut(Schema):
    id: int
    kind: str
    system: str
    value: str
    verified: bool
    is_primary: bool


class AddressOut(Schema, AddressInput):
    id: int


class CustomerIn(Schema):
    full_name: str = Field("", max_length=200, description="split into family/given names")
    family_name: str = Field("", max_length=100)
    given_name: str = Field("", max_length=100)
    display_name: str = Field("", max_length=200)
    gender: str = "unknown"
    birthday: dt.date | None = None
    lunar_birthday: bool = False
    region: str = Field("", max_length=100)
    occupation: str = Field("", max_length=100)
    preferred_language: str = "zh-hans"
    preferred_channel: str = ""
    source: str = "api"
    attributes: dict[str, Any] = Field(default_factory=dict)
    owner_id: Id | None = None
    emails: list[str] = Field(default_factory=list, max_length=20)
    phones: list[str] = Field(default_factory=list, max_length=20)
    identities: list[IdentityIn] = Field(default_factory=list, max_length=50)
    tags: list[str] = Field(default_factory=list, max_length=50)
    addresses: list[AddressIn] = Field(default_factory=list, max_length=20)
    company_name: str = Field("", max_length=200)
    check_duplicates: bool = Field(
        False, description="when true, a customer who may already exist (the same "
        "contact, or the same name in any spelling without a conflicting birthday) is not "
        "created: the answer is 409 with `possible_duplicates`")


# Columns that hold "" rather than NULL: an explicit null is a 422 naming the field.
NOT_NULL = ("family_name", "given_name", "display_name", "gender", "lunar_birthday", "region",
            "occupation", "preferred_language", "preferred_channel", "attributes")


class CustomerPatch(Schema):
    family_name: str | None = Field(None, max_length=100)
    given_name: str | None = Field(None, max_length=100)
    display_name: str | None = Field(None, max_length=200)
    gender: str | None = None
    birthday: dt.date | None = None
    lunar_birthday: bool | None = None
    region: str | None = Field(None, max_length=100)
    occupation: str | None = Field(None, max_length=100)
    preferred_language: str | None = None
    preferred_channel: str | None = None
    attributes: dict[str, Any] | None = None
    owner_id: Id | None = None

    @field_validator(*NOT_NULL)
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError('must not be null (send "" to clear a text)')
        return value


class CustomerOut(Schema):
    id: int
    version: int = Field(description="raised by every profile change; send it back as "
                                     'If-Match: "<version>" with a PATCH (the ETag header)')
    display_name: str
    family_name: str
    given_name: str
    gender: str
    birthday: dt.date | None
    lunar_birthday: bool
    region: str
    occupation: str
    preferred_language: str
    preferred_channel: str
    source: str
    attributes: dict[str, Any]
    owner_id: int | None
    owner: str | None
    tags: list[str]
    identities: list[IdentityOut]
    company: str | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_owner(obj: Any) -> str | None:
        return obj.owner.username if obj.owner_id else None

    @staticmethod
    def resolve_tags(obj: Any) -> list[str]:
        return [link.tag.name for link in obj.tag_links.all()]

    @staticmethod
    def resolve_identities(obj: Any) -> list[Any]:
        return list(obj.identities.all())

    @staticmethod
    def resolve_company(obj: Any) -> str | None:
        return obj.company.name if obj.company_id else None


class CustomerPage(Schema):
    items: list[CustomerOut]
    next_cursor: str | None


class ConsentIn(Schema):
    channel: str
    purpose: str
    granted: bool
    source: str = Field("", max_length=60, description="how the answer was given")
    proof: str = Field("", max_length=2000, description="the evidence (form id, message...)")
    notice: str = Field("", max_length=60,
                        description="version of the privacy notice the answer was given to")


class ConsentOut(Schema):
    channel: str
    purpose: str
    granted: bool
    explicit: bool = Field(description="false when the default applies (no answer recorded)")
    changed_at: dt.datetime | None
    source: str
    notice: str = ""


class TagIn(Schema):
    name: str = Field(min_length=1, max_length=50)


class EventOut(Schema):
    id: int
    kind: str
    occurred_at: dt.datetime
    channel: str
    source: str
    summary: str
    data: dict[str, Any]
    actor: str | None
    order_id: int | None

    @staticmethod
    def resolve_actor(obj: Any) -> str | None:
        return obj.actor.username if obj.actor_id else None

    @staticmethod
    def resolve_summary(obj: Any) -> str:
        """In the caller's language (Accept-Language or their account's), from the
        event's data; free text as written."""
        from guanxi.timeline.kinds import render_summary

        return render_summary(obj)


class EventPage(Schema):
    items: list[EventOut]
    next_cursor: str | None


class InteractionIn(Schema):
    kind: str = Field(description="call, visit or note")
    summary: str = Field(min_length=1, max_length=5000)
    channel: str = Field("", max_length=20)
    occurred_at: Moment | None = None
    follow_up_on: dt.date | None = Field(
        None, description="Get back to the customer on this day (today or later): a "
        "follow-up for the person logging, shown on their home page")


# Bulk-ingest inputs are plain pydantic models: ninja's Schema adds a per-object ORM
# getter validator that costs ~70 ms on a 1,000-event batch and is not needed for JSON input.
class IdentityRef(BaseModel):
    kind: str
    value: str = Field(min_length=1, max_length=200)
    system: str = Field("", max_length=40)


class EventIn(BaseModel):
    customer_id: Id | None = None
    identity: IdentityRef | None = None
    kind: str = Field(max_length=64)
    occurred_at: Moment
    channel: str = Field("", max_length=20)
    source: str = Field("", max_length=40)
    summary: str = Field("", max_length=500)
    data: dict[str, Any] = Field(default_factory=dict)
    idempotency_key: str | None = Field(None, min_length=1, max_length=100)


class EventBulkIn(BaseModel):
    events: list[EventIn] = Field(min_length=1, max_length=1000)


class EventBulkOut(Schema):
    received: int
    created: int
    duplicates: int


class OrderLineIn(Schema):
    sku: str = Field(min_length=1, max_length=64)
    quantity: int = Field(1, ge=1, le=100000)
    unit_price: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=2)
    name: str = Field("", max_length=200)


class OrderIn(Schema):
    customer_id: Id
    lines: list[OrderLineIn] = Field(min_length=1, max_length=500)
    channel: str = "other"
    store: str = Field("", max_length=100)
    currency: str = ""
    status: str = "paid"
    placed_at: Moment | None = None
    external_id: str = Field("", max_length=100)


class OrderLineOut(Schema):
    sku: str
    name: str
    quantity: int
    unit_price: Decimal
    line_total: Decimal


class OrderOut(Schema):
    id: int
    customer_id: int
    external_id: str
    channel: str
    store: str
    currency: str
    status: str
    total: Decimal
    placed_at: dt.datetime
    lines: list[OrderLineOut]

    @staticmethod
    def resolve_lines(obj: Any) -> list[Any]:
        return list(obj.lines.all())


class OrderPage(Schema):
    items: list[OrderOut]
    next_cursor: str | None


class OrderStatusIn(Schema):
    status: str


class SpendOut(Schema):
    orders: int
    paid_orders: int
    totals: dict[str, Decimal]
    average: dict[str, Decimal]
    first_order_at: dt.datetime | None
    last_order_at: dt.datetime | None


class ProductIn(Schema):
    sku: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    category: str = Field("", max_length=100)
    price: Decimal = Field(ge=0, max_digits=12, decimal_places=2)
    currency: str = ""


class ProductOut(Schema):
    id: int
    sku: str
    name: str
    category: str
    price: Decimal
    currency: str


class Customer360Out(Schema):
    customer: CustomerOut
    addresses: list[AddressOut]
    consents: list[ConsentOut]
    spend: SpendOut
    recent_orders: list[OrderOut]
    timeline: EventPage
