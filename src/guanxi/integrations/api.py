"""REST endpoints for outbound webhooks: subscriptions (endpoints), their deliveries,
replay and secret rotation."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.responses import Status

from guanxi.core.apitypes import Id
from guanxi.integrations import selectors, services

router = Router(tags=["webhooks"])


class EndpointIn(Schema):
    name: str = Field(max_length=100)
    url: str = Field(max_length=500, description="http(s) address receiving the messages")
    event_kinds: list[str] = Field([], description='Event kinds to send ("*" for all)')
    active: bool = True
    allow_private: bool = Field(False, description="Administrators only: allow an address "
                                "on a private network")


class EndpointOut(Schema):
    id: int
    name: str
    url: str
    event_kinds: list[str]
    active: bool
    allow_private: bool
    disabled_reason: str
    failing_since: dt.datetime | None
    created_at: dt.datetime


class EndpointSecretOut(EndpointOut):
    secret: str = Field(description="whsec_… : verify signatures with it")


class DeliveryOut(Schema):
    id: int
    message_id: str
    event_type: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str
    next_attempt_at: dt.datetime | None
    created_at: dt.datetime
    delivered_at: dt.datetime | None


@router.get("/webhooks", response=list[EndpointOut], summary="Webhook endpoints")
def endpoints_list(request: HttpRequest) -> Any:
    return list(selectors.endpoint_list(actor=request.user))


@router.post("/webhooks", response={201: EndpointSecretOut},
             summary="Add a webhook endpoint (the answer carries its signing secret)")
def endpoints_create(request: HttpRequest, payload: EndpointIn) -> Any:
    return Status(201, services.endpoint_save(actor=request.user, **payload.dict()))


@router.get("/webhooks/{endpoint_id}", response=EndpointSecretOut, summary="One endpoint")
def endpoints_get(request: HttpRequest, endpoint_id: Id) -> Any:
    return selectors.endpoint_get(actor=request.user, endpoint_id=endpoint_id)


@router.put("/webhooks/{endpoint_id}", response=EndpointOut, summary="Change an endpoint")
def endpoints_update(request: HttpRequest, endpoint_id: Id, payload: EndpointIn) -> Any:
    endpoint = selectors.endpoint_get(actor=request.user, endpoint_id=endpoint_id)
    return services.endpoint_save(actor=request.user, endpoint=endpoint, **payload.dict())


@router.delete("/webhooks/{endpoint_id}", response={204: None}, summary="Delete an endpoint")
def endpoints_delete(request: HttpRequest, endpoint_id: Id) -> Any:
    endpoint = selectors.endpoint_get(actor=request.user, endpoint_id=endpoint_id)
    services.endpoint_delete(actor=request.user, endpoint=endpoint)
    return Status(204, None)


@router.post("/webhooks/{endpoint_id}/rotate", response=EndpointSecretOut,
             summary="A new secret; the previous one keeps signing for 24 hours")
def endpoints_rotate(request: HttpRequest, endpoint_id: Id) -> Any:
    endpoint = selectors.endpoint_get(actor=request.user, endpoint_id=endpoint_id)
    services.endpoint_rotate_secret(actor=request.user, endpoint=endpoint)
    return endpoint


@router.get("/webhooks/{endpoint_id}/deliveries", response=list[DeliveryOut],
            summary="The latest deliveries with their response codes")
def deliveries_list(request: HttpRequest, endpoint_id: Id) -> Any:
    endpoint = selectors.endpoint_get(actor=request.user, endpoint_id=endpoint_id)
    return selectors.deliveries(actor=request.user, endpoint=endpoint, limit=500)


@router.post("/webhook-deliveries/{delivery_id}/replay", response={202: DeliveryOut},
             summary="Send a message again (the same webhook-id)")
def deliveries_replay(request: HttpRequest, delivery_id: Id) -> Any:
    delivery = selectors.delivery_get(actor=request.user, delivery_id=delivery_id)
    services.delivery_replay(actor=request.user, delivery=delivery)
    delivery.refresh_from_db()
    return Status(202, delivery)
