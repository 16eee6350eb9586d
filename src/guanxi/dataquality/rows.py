"""Turning one import row into clean values: validation and standardisation with errors
that name the row's column, the value and the reason. No database writes here."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.core.errors import FieldError, InvalidInput
from guanxi.customers import services as cs
from guanxi.customers.models import Channel, Language, OrderStatus, SalesChannel
from guanxi.dataquality.standardize import (
    MissingPolicy,
    apply_missing_policy,
    is_missing,
    normalize_email,
    normalize_phone,
    parse_address,
    parse_date,
    parse_gender,
    person_name,
    to_halfwidth,
)

TAG_SPLIT = re.compile(r"[,;|，；、]+")


@dataclass
class CustomerRow:
    """A customer as the import will write it."""

    external_id: str = ""
    family_name: str = ""
    given_name: str = ""
    display_name: str = ""
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    wechat_unionid: str = ""
    profile: dict[str, Any] = field(default_factory=dict)
    address: dict[str, str] = field(default_factory=dict)
    company: str = ""
    tags: list[str] = field(default_factory=list)
    # Values of optional fields that were dropped, and why: the row is still imported.
    warnings: list[FieldError] = field(default_factory=list)


@dataclass
class OrderRow:
    """An order as the import will write it."""

    external_id: str = ""
    customer_external_id: str = ""
    customer_email: str = ""
    customer_phone: str = ""
    placed_at: dt.datetime | None = None
    total: Decimal | None = None
    currency: str = ""
    channel: str = SalesChannel.OTHER
    store: str = ""
    status: str = OrderStatus.PAID
    sku: str = ""
    product_name: str = ""
    quantity: int = 1
    unit_price: Decimal | None = None


class RowInvalid(Exception):
    """The row's errors, each naming a Guanxi field."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


def _values(raw: dict[str, str], mapping: dict[str, str], options: dict[str, Any]
            ) -> tuple[dict[str, str], list[FieldError]]:
    """{field: value} after the missing-value policy of each mapped field."""
    policies = options.get("missing", {})
    defaults = options.get("defaults", {})
    values: dict[str, str] = {}
    errors: list[FieldError] = []
    for column, target in mapping.items():
        value = raw.get(column, "")
        try:
            kept = apply_missing_policy(
                value, field=target,
                policy=MissingPolicy(policies.get(target, MissingPolicy.EMPTY)),
                default=defaults.get(target))
        except InvalidInput as exc:
            errors.extend(exc.errors)
            continue
        if kept is not None and not is_missing(kept):
            if target in values:  # two columns for one field: keep both, spaced
                values[target] = f"{values[target]} {to_halfwidth(str(kept)).strip()}"
            else:
                values[target] = to_halfwidth(str(kept)).strip()
    # Defaults for fields no column maps to.
    for target, default in defaults.items():
        if target not in values and policies.get(target) == MissingPolicy.DEFAULT and default:
            values[target] = str(default)
    return values, errors


def _collect(errors: list[FieldError], fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except InvalidInput as exc:
        errors.extend(exc.errors)
        return None


def customer_row(raw: dict[str, str], mapping: dict[str, str], options: dict[str, Any]
                 ) -> CustomerRow:
    values, errors = _values(raw, mapping, options)
    row = CustomerRow(external_id=values.get("external_id", ""))
    region = options.get("region") or settings.GUANXI_DEFAULT_REGION
    name = person_name(values.get("full_name", ""), values.get("family_name", ""),
                       values.get("given_name", ""))
    row.family_name, row.given_name, row.display_name = name.family, name.given, name.display
    if not (row.family_name or row.given_name):
        errors.append(FieldError("full_name", _("A customer needs a name")))
    # A bad value in an optional field drops that value with a warning; the row stays.
    warnings = row.warnings
    for piece in re.split(r"[;,，；/]+", values.get("email", "")):
        if piece.strip() and (email := _collect(warnings, normalize_email, piece,
                                                field="email")):
            row.emails.append(email)
    for piece in re.split(r"[;,，；/]+", values.get("phone", "")):
        if piece.strip() and (phone := _collect(warnings, normalize_phone, piece,
                                                region=region, field="phone")):
            row.phones.append(phone)
    row.wechat_unionid = values.get("wechat_unionid", "")
    for name_, value_ in (("external_id", row.external_id),
                          ("wechat_unionid", row.wechat_unionid)):
        if len(value_) > cs.IDENTITY_VALUE_MAX:  # an id cut short would be someone else's
            errors.append(FieldError(name_, _("At most %(n)d characters")
                                     % {"n": cs.IDENTITY_VALUE_MAX}, value_))
    if "birthday" in values:
        birthday = _collect(warnings, parse_date, values["birthday"], field="birthday",
                            day_first=options.get("day_first", True))
        if birthday is not None:
            if not dt.date(1900, 1, 1) <= birthday <= timezone.localdate():
                warnings.append(FieldError("birthday", _("Birthday must be between 1900 and "
                                                         "today"), values["birthday"]))
            else:
                row.profile["birthday"] = birthday
    if "gender" in values and (gender := _collect(warnings, parse_gender,
                                                  values["gender"])) is not None:
        row.profile["gender"] = gender
    for name_ in ("occupation", "region"):
        if values.get(name_):
            row.profile[name_] = values[name_][:100]
    for name_, allowed in (("preferred_language", Language.values),
                           ("preferred_channel", Channel.values)):
        if name_ in values:
            value = values[name_].lower()
            if value not in allowed:
                warnings.append(FieldError(name_, _("Choose one of: %(choices)s")
                                           % {"choices": ", ".join(allowed)}, values[name_]))
            else:
                row.profile[name_] = value
    address: dict[str, str] = {}
    if values.get("address"):
        parsed = parse_address(values["address"])
        address = {"province": parsed.province, "city": parsed.city,
                   "district": parsed.district, "street": parsed.street}
    for part in ("province", "city", "district", "street", "postcode"):
        if values.get(part):
            address[part] = values[part]
    for part, value in address.items():
        if value and len(value) > (longest := cs.AddressInput.longest(part)):
            warnings.append(FieldError(part, _("Cut to its first %(n)d characters")
                                       % {"n": longest}, value))
            value = value[:longest]
        if value:
            row.address[part] = value
    if "region" not in row.profile and (address.get("city") or address.get("province")):
        row.profile["region"] = address.get("city") or address.get("province", "")
    row.company = values.get("company", "")[:200]
    row.tags = [t.strip()[:50] for t in TAG_SPLIT.split(values.get("tags", "")) if t.strip()]
    row.tags += [t for t in options.get("tags", []) if t not in row.tags]
    if errors:
        raise RowInvalid(errors)
    return row


def _datetime(value: str, *, day_first: bool) -> dt.datetime:
    text = to_halfwidth(value).strip().replace("T", " ")
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        moment = dt.datetime.combine(parse_date(text, field="placed_at", day_first=day_first),
                                     dt.time(12))
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def _decimal(value: str, field_name: str) -> Decimal:
    text = re.sub(r"[¥￥$€,\s]|CNY|RMB|元", "", to_halfwidth(value), flags=re.I)
    try:
        amount = Decimal(text).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        raise InvalidInput.single(field_name, _("Not an amount"), value) from None
    if amount < 0:
        raise InvalidInput.single(field_name, _("Must not be negative"), value)
    return amount


CHANNEL_ALIASES = {"store": "pos", "门店": "pos", "线下": "pos", "网店": "shop", "天猫": "shop",
                   "淘宝": "shop", "京东": "shop", "官网": "web", "网站": "web", "微信": "wechat",
                   "小程序": "wechat", "电话": "phone", "app": "app"}


def order_row(raw: dict[str, str], mapping: dict[str, str], options: dict[str, Any]
              ) -> OrderRow:
    values, errors = _values(raw, mapping, options)
    row = OrderRow(external_id=values.get("external_id", "")[:100],
                   customer_external_id=values.get("customer_external_id", ""),
                   store=values.get("store", "")[:100], sku=values.get("sku", "")[:64],
                   product_name=values.get("product_name", "")[:200])
    if not row.external_id:
        errors.append(FieldError("external_id", _("An order number is needed so that "
                                                  "importing the file again adds nothing")))
    if (email := values.get("customer_email")):
        row.customer_email = _collect(errors, normalize_email, email,
                                      field="customer_email") or ""
    if (phone := values.get("customer_phone")):
        row.customer_phone = _collect(
            errors, normalize_phone, phone, field="customer_phone",
            region=options.get("region") or settings.GUANXI_DEFAULT_REGION) or ""
    if not (row.customer_external_id or row.customer_email or row.customer_phone
            or "customer_email" in {e.field for e in errors}
            or "customer_phone" in {e.field for e in errors}):
        errors.append(FieldError("customer_external_id",
                                 _("Say whose order it is: a customer number, email or "
                                   "phone")))
    if values.get("placed_at"):
        try:
            row.placed_at = _datetime(values["placed_at"],
                                      day_first=options.get("day_first", True))
        except InvalidInput:
            errors.append(FieldError("placed_at", _("Not a date or time"),
                                     values["placed_at"]))
    else:
        errors.append(FieldError("placed_at", _("This field is required")))
    for name_ in ("total", "unit_price"):
        if values.get(name_):
            setattr(row, name_, _collect(errors, _decimal, values[name_], name_))
    if row.total is None and row.unit_price is None and not {
            e.field for e in errors} & {"total", "unit_price"}:
        errors.append(FieldError("total", _("Give the order total or a unit price")))
    if values.get("quantity"):
        try:
            row.quantity = int(Decimal(values["quantity"]))
            if row.quantity < 1:
                raise ValueError
        except (InvalidOperation, ValueError):
            errors.append(FieldError("quantity", _("Must be a whole number of at least 1"),
                                     values["quantity"]))
    channel = (values.get("channel") or options.get("channel") or SalesChannel.OTHER).lower()
    channel = CHANNEL_ALIASES.get(channel, channel)
    if channel not in SalesChannel.values:
        errors.append(FieldError("channel", _("Unknown sales channel; use one of: %(c)s")
                                 % {"c": ", ".join(SalesChannel.values)}, values["channel"]))
    row.channel = channel
    status = (values.get("status") or OrderStatus.PAID).lower()
    if status not in OrderStatus.values:
        errors.append(FieldError("status", _("Unknown order status; use one of: %(s)s")
                                 % {"s": ", ".join(OrderStatus.values)}, values["status"]))
    row.status = status
    currency = (values.get("currency") or "").upper()
    if currency in ("RMB", "元", "¥", "￥"):
        currency = "CNY"
    if currency and (len(currency) != 3 or not currency.isalpha()):
        errors.append(FieldError("currency", _("Use a three-letter ISO 4217 code"),
                                 values["currency"]))
    row.currency = currency
    if errors:
        raise RowInvalid(errors)
    return row
