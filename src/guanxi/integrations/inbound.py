"""Inbound webhooks: shops post orders (Shopify, WooCommerce) and other systems post
events in Guanxi's own format to /hooks/<slug>. Each request is verified with the
source's secret (401 if the signature is wrong), parsed into one shape (422 naming the
field path if it is malformed), and applied once per source id (the same id again is
answered with the first result and writes nothing), all or nothing.

Shopify signs the raw body with HMAC-SHA256 in `X-Shopify-Hmac-Sha256` (base64);
WooCommerce the same in `X-WC-Webhook-Signature`; Guanxi's format is signed per the
Standard Webhooks spec (`webhook-id`, `webhook-timestamp`, `webhook-signature`)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from guanxi.core.errors import FieldError, InvalidInput
from guanxi.customers.models import Identity, SalesChannel
from guanxi.customers.services import (
    EventInput,
    IdentityInput,
    OrderLineInput,
    customer_create,
    events_ingest,
    normalize_identity,
    order_create,
)
from guanxi.integrations.models import InboundReceipt, InboundSource


class BadSignature(Exception):
    pass


@dataclass
class Buyer:
    name: str = ""
    email: str = ""
    phone: str = ""


@dataclass
class IncomingOrder:
    external_id: str
    buyer: Buyer
    lines: list[OrderLineInput]
    placed_at: dt.datetime | None = None
    currency: str = ""
    status: str = "paid"
    extra: dict[str, Any] = field(default_factory=dict)


def _hmac_b64(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def verify(source: InboundSource, body: bytes, headers: dict[str, str]) -> None:
    h = {k.lower(): v for k, v in headers.items()}
    if source.kind == InboundSource.Kind.GUANXI:
        try:
            Webhook(source.secret).verify(body, h)
        except (WebhookVerificationError, ValueError) as exc:
            raise BadSignature(str(exc)) from exc
        return
    name = "x-shopify-hmac-sha256" if source.kind == InboundSource.Kind.SHOPIFY \
        else "x-wc-webhook-signature"
    given = h.get(name, "")
    if not given or not hmac.compare_digest(given, _hmac_b64(source.secret, body)):
        raise BadSignature(f"missing or wrong {name}")


def _req(data: Any, path: str, errors: list[FieldError], kind: type | tuple[type, ...] = str
         ) -> Any:
    value: Any = data
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            errors.append(FieldError(path, "required"))
            return None
        value = value[part]
    if not isinstance(value, kind):
        errors.append(FieldError(path, f"expected {getattr(kind, '__name__', kind)}"))
        return None
    return value


def _money(value: Any, path: str, errors: list[FieldError]) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        errors.append(FieldError(path, "expected a decimal amount", value))
        return None


def _when(value: Any, path: str, errors: list[FieldError]) -> dt.datetime | None:
    if value in (None, ""):
        return None
    try:
        when = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        errors.append(FieldError(path, "expected an ISO 8601 time", value))
        return None
    return when if timezone.is_aware(when) else timezone.make_aware(when, dt.UTC)


def _lines(items: Any, errors: list[FieldError], *, name_key: str) -> list[OrderLineInput]:
    if not isinstance(items, list) or not items:
        errors.append(FieldError("line_items", "give at least one line item"))
        return []
    out = []
    for i, item in enumerate(items):
        at = f"line_items.{i}"
        if not isinstance(item, dict):
            errors.append(FieldError(at, "expected an object"))
            continue
        quantity = item.get("quantity")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            errors.append(FieldError(f"{at}.quantity", "expected a whole number ≥ 1",
                                     quantity))
            continue
        price = _money(item.get("price"), f"{at}.price", errors)
        sku = str(item.get("sku") or item.get("product_id") or "").strip()
        if not sku:
            errors.append(FieldError(f"{at}.sku", "required"))
            continue
        if price is not None:
            out.append(OrderLineInput(sku=sku[:64], quantity=quantity, unit_price=price,
                                      name=str(item.get(name_key) or "")[:200]))
    return out


def parse_shopify(data: Any) -> IncomingOrder:
    errors: list[FieldError] = []
    order_id = _req(data, "id", errors, (int, str))
    customer = data.get("customer") if isinstance(data, dict) else None
    customer = customer if isinstance(customer, dict) else {}
    name = " ".join(str(customer.get(k) or "") for k in ("last_name", "first_name")).strip()
    buyer = Buyer(name=name, email=str(data.get("email") or customer.get("email") or ""),
                  phone=str(data.get("phone") or customer.get("phone") or ""))
    lines = _lines(data.get("line_items") if isinstance(data, dict) else None, errors,
                   name_key="title")
    placed = _when(data.get("created_at") if isinstance(data, dict) else None, "created_at",
                   errors)
    if errors:
        raise InvalidInput(errors)
    status = "paid" if data.get("financial_status") in (None, "paid", "partially_refunded") \
        else ("refunded" if data.get("financial_status") == "refunded" else "pending")
    return IncomingOrder(str(order_id), buyer, lines, placed, str(data.get("currency") or ""),
                         status)


def parse_woocommerce(data: Any) -> IncomingOrder:
    errors: list[FieldError] = []
    order_id = _req(data, "id", errors, (int, str))
    billing = data.get("billing") if isinstance(data, dict) else None
    billing = billing if isinstance(billing, dict) else {}
    name = " ".join(str(billing.get(k) or "") for k in ("last_name", "first_name")).strip()
    buyer = Buyer(name=name, email=str(billing.get("email") or ""),
                  phone=str(billing.get("phone") or ""))
    lines = _lines(data.get("line_items") if isinstance(data, dict) else None, errors,
                   name_key="name")
    placed = _when(data.get("date_created_gmt") if isinstance(data, dict) else None,
                   "date_created_gmt", errors)
    if errors:
        raise InvalidInput(errors)
    state = str(data.get("status") or "")
    status = {"completed": "paid", "processing": "paid", "refunded": "refunded",
              "cancelled": "cancelled"}.get(state, "pending")
    return IncomingOrder(str(order_id), buyer, lines, placed, str(data.get("currency") or ""),
                         status)


def _customer_for(source: InboundSource, buyer: Buyer) -> Any:
    """The customer a buyer is (found by email, then phone), or a new one marked as
    coming from the shop."""
    keys = []
    for kind, value in (("email", buyer.email), ("phone", buyer.phone)):
        if value:
            try:
                keys.append((kind, normalize_identity(kind, value, field_name=kind)))
            except InvalidInput:
                continue
    for kind, value in keys:
        found = Identity.objects.filter(kind=kind, value=value).select_related(
            "customer").first()
        if found is not None:
            return found.customer
    if not keys:
        raise InvalidInput([FieldError("customer", "give the buyer's email or phone")])
    return customer_create(actor=source.acts_as, full_name=buyer.name or buyer.email
                           or buyer.phone, emails=[v for k, v in keys if k == "email"],
                           phones=[v for k, v in keys if k == "phone"], source="shop")


def _apply_order(source: InboundSource, order: IncomingOrder) -> dict[str, Any]:
    customer = _customer_for(source, order.buyer)
    placed = order_create(actor=source.acts_as, customer=customer, lines=order.lines,
                          channel=SalesChannel.SHOP, store=source.name[:100],
                          currency=order.currency, status=order.status,
                          placed_at=order.placed_at,
                          external_id=f"{source.slug}:{order.external_id}"[:64])
    return {"customer_id": customer.pk, "order_id": placed.pk}


def _apply_events(source: InboundSource, data: Any) -> dict[str, Any]:
    """Guanxi's own format: {"type": "events", "data": {"events": [EventInput…]}}."""
    errors: list[FieldError] = []
    events = _req(data, "data.events", errors, list)
    if errors:
        raise InvalidInput(errors)
    parsed: list[EventInput] = []
    for i, e in enumerate(events):
        at = f"data.events.{i}"
        if not isinstance(e, dict):
            errors.append(FieldError(at, "expected an object"))
            continue
        identity = e.get("identity")
        when = _when(e.get("occurred_at"), f"{at}.occurred_at", errors) or timezone.now()
        try:
            parsed.append(EventInput(
                kind=str(e.get("kind") or ""), occurred_at=when,
                customer_id=e.get("customer_id"),
                identity=IdentityInput(**identity) if isinstance(identity, dict) else None,
                summary=str(e.get("summary") or "")[:500], data=e.get("data") or {},
                source=source.slug[:40], idempotency_key=e.get("idempotency_key")))
        except (TypeError, ValueError) as exc:
            errors.append(FieldError(at, str(exc)[:200]))
    if errors:
        raise InvalidInput(errors)
    try:
        result = events_ingest(actor=source.acts_as, events=parsed)
    except InvalidInput as exc:
        raise InvalidInput([FieldError(f"data.{e.field}", e.message, e.value)
                            for e in exc.errors]) from exc
    return dict(result)


def receive(source: InboundSource, body: bytes, headers: dict[str, str]) -> tuple[int, dict]:
    """Verify, parse and apply one request: (HTTP status, answer). Raises BadSignature
    or InvalidInput (nothing written)."""
    verify(source, body, headers)
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput([FieldError("body", f"not JSON: {exc}")]) from exc
    h = {k.lower(): v for k, v in headers.items()}
    if source.kind == InboundSource.Kind.GUANXI:
        external = h.get("webhook-id", "")
        topic = str(data.get("type", "")) if isinstance(data, dict) else ""
    else:
        external = str(data.get("id", "")) if isinstance(data, dict) else ""
        topic = h.get("x-shopify-topic") or h.get("x-wc-webhook-topic") or "order"
    if not external:
        raise InvalidInput([FieldError("id", "required")])
    seen = InboundReceipt.objects.filter(source=source, external_id=external[:120]).first()
    if seen is not None:
        return 200, {**seen.result, "duplicate": True}
    try:
        with transaction.atomic():
            if source.kind == InboundSource.Kind.SHOPIFY:
                result = _apply_order(source, parse_shopify(data))
            elif source.kind == InboundSource.Kind.WOOCOMMERCE:
                result = _apply_order(source, parse_woocommerce(data))
            else:
                result = _apply_events(source, data)
            InboundReceipt.objects.create(source=source, external_id=external[:120],
                                          topic=topic[:80], result=result)
    except IntegrityError:  # the same id, at the same time, from a retrying sender
        seen = InboundReceipt.objects.get(source=source, external_id=external[:120])
        return 200, {**seen.result, "duplicate": True}
    return 201, result
