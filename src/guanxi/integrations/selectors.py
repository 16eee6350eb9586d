"""Reads of the integrations app (webhook endpoints, deliveries, inbound sources)."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from guanxi.core.errors import NotFound
from guanxi.core.permissions import Actor, require
from guanxi.integrations.models import (
    DeliveryStatus,
    InboundSource,
    WebhookDelivery,
    WebhookEndpoint,
)
from guanxi.integrations.permissions import IntegrationAction


def endpoint_list(*, actor: Actor) -> QuerySet[WebhookEndpoint]:
    require(actor, IntegrationAction.MANAGE)
    return WebhookEndpoint.objects.annotate(
        delivered=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.DELIVERED)),
        failing=Count("deliveries", filter=Q(deliveries__status__in=[
            DeliveryStatus.RETRYING, DeliveryStatus.FAILED]))).order_by("name")


def endpoint_get(*, actor: Actor, endpoint_id: int) -> WebhookEndpoint:
    require(actor, IntegrationAction.MANAGE)
    found = WebhookEndpoint.objects.filter(pk=endpoint_id).first()
    if found is None:
        raise NotFound("Webhook endpoint not found")
    return found


def endpoint_choices() -> list[tuple[str, str]]:
    """For the "call a webhook" automation action."""
    return [(str(pk), name) for pk, name in
            WebhookEndpoint.objects.filter(active=True).values_list("pk", "name")]


def deliveries(*, actor: Actor, endpoint: WebhookEndpoint, limit: int = 100
               ) -> list[WebhookDelivery]:
    require(actor, IntegrationAction.MANAGE)
    return list(endpoint.deliveries.order_by("-pk")[:limit])


def delivery_get(*, actor: Actor, delivery_id: int) -> WebhookDelivery:
    require(actor, IntegrationAction.MANAGE)
    found = WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
    if found is None:
        raise NotFound("Delivery not found")
    return found


def disabled_endpoints() -> list[WebhookEndpoint]:
    return list(WebhookEndpoint.objects.filter(active=False).exclude(disabled_reason=""))


def source_list(*, actor: Actor) -> QuerySet[InboundSource]:
    require(actor, IntegrationAction.MANAGE)
    return InboundSource.objects.select_related("acts_as").order_by("name")
