"""Products, orders and their lines."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.audit.services import diff, log_action
from guanxi.core.errors import Conflict, FieldError, InvalidInput
from guanxi.core.permissions import Actor, require
from guanxi.customers.models import (
    Customer,
    Order,
    OrderLine,
    OrderStatus,
    Product,
    SalesChannel,
)
from guanxi.customers.permissions import CustomerAction
from guanxi.customers.services.access import _check
from guanxi.customers.services.timeline import event_record


@dataclass
class OrderLineInput:
    sku: str
    quantity: int = 1
    unit_price: Decimal | None = None
    name: str = ""


def product_upsert(*, actor: Actor, sku: str, name: str, price: Decimal, category: str = "",
                   currency: str = "") -> Product:
    require(actor, CustomerAction.ORDER_CREATE)
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


def order_create(*, actor: Actor, customer: Customer, lines: Sequence[OrderLineInput],
                 channel: str = SalesChannel.OTHER, store: str = "", currency: str = "",
                 status: str = OrderStatus.PAID, placed_at: dt.datetime | None = None,
                 external_id: str = "") -> Order:
    _check(actor, CustomerAction.ORDER_CREATE, customer)
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
                     data={"order_id": order.pk, "ref": str(order), "total": str(total),
                           "currency": currency,
                           "items": items, "skus": [ln.sku for ln in built]})
        log_action(actor=actor, action="order.create", obj=order, customer_id=customer.pk,
                   changes={"total": [None, total], "status": [None, status]})
    return order


def order_set_status(*, actor: Actor, order: Order, status: str) -> Order:
    _check(actor, CustomerAction.ORDER_CREATE, order.customer)
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
                         order=order,
                         data={"order_id": order.pk, "ref": str(order),
                               "total": str(order.total), "currency": order.currency})
        log_action(actor=actor, action="order.status", obj=order,
                   customer_id=order.customer_id, changes={"status": [old, status]})
    return order
