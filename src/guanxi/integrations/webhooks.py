"""Outbound webhooks: signed per the Standard Webhooks spec, retried on a fixed
schedule, never sent to a private address unless an administrator allowed it.

Delivery is a durable work item per attempt (queue `integrations.deliver`). The HTTP call
happens outside any transaction; its outcome is then recorded and, on failure, the next
attempt is queued at the next time of RETRY_SCHEDULE. A worker killed after the POST but
before recording sends the same message again (the same `webhook-id`), which the
receiver can recognise; a delivered message is never sent again unless replayed."""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import secrets
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from guanxi.core.models import WorkItem
from guanxi.core.work import work_enqueue
from guanxi.integrations.models import (
    DeliveryAttempt,
    DeliveryStatus,
    WebhookDelivery,
    WebhookEndpoint,
)
from guanxi.timeline.kinds import masked_data

QUEUE = "integrations.deliver"
# Seconds before each retry: the first attempt is immediate, then these (docs/automation.md).
RETRY_SCHEDULE = (5, 300, 1800, 7200, 18000, 36000, 36000)
TIMEOUT_S = 10.0
USER_AGENT = "Guanxi-Webhooks/1"


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def _json(payload: Mapping[str, Any]) -> str:
    return json.dumps(payload, cls=DjangoJSONEncoder, ensure_ascii=False,
                      separators=(",", ":"))


def signing_secrets(endpoint: WebhookEndpoint, now: dt.datetime) -> list[str]:
    """The secrets that sign now: the current one, and during a rotation's overlap window
    the previous one too (a receiver still holding it keeps verifying)."""
    out = [endpoint.secret]
    if endpoint.previous_secret and endpoint.previous_until and endpoint.previous_until > now:
        out.append(endpoint.previous_secret)
    return out


def signed_headers(endpoint: WebhookEndpoint, message_id: str, body: str,
                   now: dt.datetime) -> dict[str, str]:
    signatures = " ".join(Webhook(s).sign(message_id, now, body)
                          for s in signing_secrets(endpoint, now))
    return {"webhook-id": message_id, "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signatures, "content-type": "application/json",
            "user-agent": USER_AGENT}


class UnsafeAddress(Exception):
    pass


def _private(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
            or ip.is_reserved or ip.is_unspecified)


def check_url(url: str, *, allow_private: bool) -> None:
    """Refuse what is not http(s), and (unless allowed) a host that resolves to a
    loopback, private, link-local or otherwise internal address."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeAddress("only http and https addresses can receive webhooks")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme ==
                                                                  "https" else 80))
    except socket.gaierror as exc:
        raise UnsafeAddress(f"the host cannot be resolved ({exc})") from exc
    for info in infos:
        if _private(str(info[4][0])):
            raise UnsafeAddress(f"{parts.hostname} resolves to the internal address "
                                f"{info[4][0]}; an administrator must allow it")


def event_payload(event: Any) -> dict[str, Any]:
    """The message for a timeline event: its kind, time and data, without the data keys
    the kind marks as personal free text (names, notes)."""
    return {"type": f"event.{event.kind}", "timestamp": timezone.now().isoformat(),
            "data": {"event_id": event.pk, "customer_id": event.customer_id,
                     "kind": event.kind, "occurred_at": event.occurred_at.isoformat(),
                     "channel": event.channel, "source": event.source,
                     "order_id": event.order_id,
                     "data": masked_data(event.kind, event.data or {})}}


def delivery_create(endpoint: WebhookEndpoint, *, message_id: str, event_type: str,
                    payload: Mapping[str, Any], customer_id: int | None = None
                    ) -> WebhookDelivery:
    """A message to send (once per message id) and its first attempt, now."""
    delivery, created = WebhookDelivery.objects.get_or_create(
        message_id=message_id, defaults={"endpoint": endpoint, "event_type": event_type,
                                         "payload": dict(payload),
                                         "customer_id": customer_id,
                                         "next_attempt_at": timezone.now()})
    if created:
        work_enqueue(QUEUE, {"delivery": delivery.pk, "attempt": 1},
                     key=f"webhook:{delivery.pk}:1")
    return delivery


def deliveries_for_events(events: Sequence[Any]) -> int:
    """The timeline consumer's handler: one delivery per (endpoint subscribed, event)."""
    endpoints = list(WebhookEndpoint.objects.filter(active=True))
    made = 0
    for event in events:
        for endpoint in endpoints:
            kinds = endpoint.event_kinds or []
            if "*" in kinds or event.kind in kinds:
                delivery_create(endpoint, message_id=f"msg_e{event.pk}_{endpoint.pk}",
                                event_type=f"event.{event.kind}",
                                payload=event_payload(event), customer_id=event.customer_id)
                made += 1
    return made


_local = threading.local()


def _client() -> httpx.Client:
    """One HTTP client per worker thread: its TLS context and kept-alive connections are
    reused (making a client costs ~15 ms, mostly loading the CA bundle). Redirects are
    not followed (a redirect could point at an internal address)."""
    client = getattr(_local, "client", None)
    if client is None:
        client = _local.client = httpx.Client(follow_redirects=False)
    return client


def _send(endpoint: WebhookEndpoint, delivery: WebhookDelivery
          ) -> tuple[int | None, str, str, int]:
    """POST the message: (status code, error, response excerpt, milliseconds)."""
    body = _json(delivery.payload)
    started = time.monotonic()
    try:
        check_url(endpoint.url, allow_private=endpoint.allow_private)
        headers = signed_headers(endpoint, delivery.message_id, body, timezone.now())
        timeout = float(getattr(settings, "GUANXI_WEBHOOK_TIMEOUT_S", TIMEOUT_S))
        response = _client().post(endpoint.url, content=body.encode(), headers=headers,
                                  timeout=timeout)
        took = int((time.monotonic() - started) * 1000)
        return response.status_code, "", response.text[:500], took
    except UnsafeAddress as exc:
        return None, f"refused: {exc}"[:300], "", 0
    except httpx.HTTPError as exc:
        took = int((time.monotonic() - started) * 1000)
        return None, f"{type(exc).__name__}: {exc}"[:300], "", took


def deliver_work(item: WorkItem, ctx: Any) -> dict[str, Any]:
    """The `integrations.deliver` handler (not atomic: the HTTP call is outside any
    transaction)."""
    attempt = int(item.payload["attempt"])
    delivery = (WebhookDelivery.objects.select_related("endpoint")
                .filter(pk=item.payload["delivery"]).first())
    if delivery is None or (delivery.status in (DeliveryStatus.DELIVERED,
                                               DeliveryStatus.FAILED) and not \
            item.payload.get("replay")):
        return {"skipped": True}
    endpoint = delivery.endpoint
    if not endpoint.active:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.FAILED, last_error="endpoint disabled",
            next_attempt_at=None)
        return {"skipped": "endpoint disabled"}
    code, error, excerpt, took = _send(endpoint, delivery)
    ok = code is not None and 200 <= code < 300
    now = timezone.now()
    with transaction.atomic():
        ctx.renew()  # record only while this item is still ours
        DeliveryAttempt.objects.create(delivery=delivery, at=now, status_code=code,
                                       duration_ms=took, error=error or (
                                           "" if ok else f"HTTP {code}"),
                                       response=excerpt)
        fields: dict[str, Any] = {"attempts": delivery.attempts + 1, "last_status_code": code,
                                  "last_error": error or ("" if ok else f"HTTP {code}")}
        if ok:
            fields.update(status=DeliveryStatus.DELIVERED, delivered_at=now,
                          next_attempt_at=None)
            if endpoint.failing_since:
                WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=None)
        elif attempt <= len(RETRY_SCHEDULE) and not item.payload.get("replay"):
            at = now + dt.timedelta(seconds=RETRY_SCHEDULE[attempt - 1])
            fields.update(status=DeliveryStatus.RETRYING, next_attempt_at=at)
            work_enqueue(QUEUE, {"delivery": delivery.pk, "attempt": attempt + 1},
                         key=f"webhook:{delivery.pk}:{attempt + 1}", run_after=at)
        else:
            fields.update(status=DeliveryStatus.FAILED, next_attempt_at=None)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(**fields)
        if not ok:
            _note_failure(endpoint, now)
    return {"status": code, "ok": ok}


def _note_failure(endpoint: WebhookEndpoint, now: dt.datetime) -> None:
    """An endpoint failing for GUANXI_WEBHOOK_DISABLE_DAYS without a success is disabled,
    with a notice to administrators (the audit log and their home page)."""
    from guanxi.audit.services import log_action

    if endpoint.failing_since is None:
        WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(
            failing_since=now)
        return
    days = float(getattr(settings, "GUANXI_WEBHOOK_DISABLE_DAYS", 5))
    if now - endpoint.failing_since >= dt.timedelta(days=days) and endpoint.active:
        reason = f"failing since {endpoint.failing_since:%Y-%m-%d %H:%M}"
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(active=False,
                                                              disabled_reason=reason)
        log_action(actor=None, action="webhook.disabled", obj=endpoint,
                   extra={"reason": reason})


def replay(delivery: WebhookDelivery) -> WorkItem:
    """Send a message again now (same webhook-id), whatever happened to it before."""
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.PENDING,
                                                          next_attempt_at=timezone.now())
    n = WorkItem.objects.filter(key__startswith=f"webhook:{delivery.pk}:replay").count() + 1
    return work_enqueue(QUEUE, {"delivery": delivery.pk, "attempt": 1, "replay": True},
                        key=f"webhook:{delivery.pk}:replay{n}")
