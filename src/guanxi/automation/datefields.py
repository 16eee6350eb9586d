"""Date fields of a customer that a trigger or a wait can count days from ("7 days after
the first purchase", "30 days before the contract ends"): the exact date, not its
anniversary (birthdays and first-purchase anniversaries are their own trigger dates).

    customer_since      when the customer was created
    first_purchase      the first paid order
    last_purchase       the latest paid order
    attributes.<key>    a custom attribute holding an ISO date ("2027-03-31", or a date
                        and time, whose date counts)

Dates and times are read in the business time zone."""

from __future__ import annotations

import datetime as dt
import re

from django.db.models import Max, Min
from django.utils.translation import gettext as _

from guanxi.automation.calendar import business_tz
from guanxi.customers.models import Customer, Order, OrderStatus

FIELDS = ("customer_since", "first_purchase", "last_purchase")
_ATTRIBUTE = re.compile(r"^attributes\.[A-Za-z0-9_-]{1,60}$")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}")


def field_choices() -> list[tuple[str, str]]:
    return [("customer_since", str(_("Customer since"))),
            ("first_purchase", str(_("First purchase"))),
            ("last_purchase", str(_("Latest purchase")))]


def all_choices() -> list[tuple[str, str]]:
    """The named date fields and the custom attributes that hold dates (found in a sample
    of the newest customers)."""
    keys: set[str] = set()
    sample = (Customer.objects.filter(erased_at__isnull=True).exclude(attributes={})
              .order_by("-pk").values_list("attributes", flat=True)[:2000])
    for attributes in sample:
        for key, value in (attributes or {}).items():
            if isinstance(value, str) and _ISO.match(value) and _ATTRIBUTE.match(
                    f"attributes.{key}"):
                keys.add(key)
    label = _("Custom field")
    return field_choices() + [(f"attributes.{k}", f"{label}: {k}") for k in sorted(keys)]


def is_date_field(name: object) -> bool:
    return isinstance(name, str) and (name in FIELDS or bool(_ATTRIBUTE.match(name)))


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time(), business_tz())
    return start, start + dt.timedelta(days=1)


def customers_on(field: str, day: dt.date) -> list[int]:
    """The ids of the (not erased) customers whose `field` falls on `day`."""
    start, end = _day_bounds(day)
    live = Customer.objects.filter(erased_at__isnull=True)
    if field == "customer_since":
        return list(live.filter(created_at__gte=start, created_at__lt=end)
                    .values_list("pk", flat=True))
    if field in ("first_purchase", "last_purchase"):
        edge = Min("placed_at") if field == "first_purchase" else Max("placed_at")
        rows = (Order.objects.filter(status=OrderStatus.PAID, customer__erased_at__isnull=True)
                .values("customer_id").annotate(at=edge).filter(at__gte=start, at__lt=end))
        return [r["customer_id"] for r in rows]
    if _ATTRIBUTE.match(field):
        key = field.split(".", 1)[1]
        return list(live.filter(**{f"attributes__{key}__startswith": day.isoformat()})
                    .values_list("pk", flat=True))
    return []


def date_of(customer: Customer, field: str) -> dt.date | None:
    """The customer's date in `field`, None when it has none (or not a date)."""
    tz = business_tz()
    if field == "customer_since":
        return customer.created_at.astimezone(tz).date()
    if field in ("first_purchase", "last_purchase"):
        edge = Min("placed_at") if field == "first_purchase" else Max("placed_at")
        at = (Order.objects.filter(customer=customer, status=OrderStatus.PAID)
              .aggregate(at=edge)["at"])
        return at.astimezone(tz).date() if at else None
    if _ATTRIBUTE.match(field):
        value = (customer.attributes or {}).get(field.split(".", 1)[1])
        try:
            return dt.date.fromisoformat(str(value)[:10])
        except ValueError:
            return None
    return None
