"""A customer's addresses."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _
from pydantic import BaseModel, Field

from guanxi.audit.services import log_action
from guanxi.core.errors import FieldError, InvalidInput
from guanxi.core.permissions import Actor
from guanxi.customers.hooks import run_after_change
from guanxi.customers.models import (
    Address,
    Customer,
)
from guanxi.customers.permissions import CustomerAction
from guanxi.customers.services.access import _check


def _longest(name: str) -> int:
    return int(getattr(Address._meta.get_field(name), "max_length", 0) or 0)


class AddressInput(BaseModel):
    """An address as every writer gives it (API body, import row, form, Python): the one
    definition, its lengths those of the stored columns."""

    kind: str = "home"
    country: str = Field("CN", description="ISO 3166 alpha-2 (checked by the service)")
    province: str = Field("", max_length=_longest("province"))
    city: str = Field("", max_length=_longest("city"))
    district: str = Field("", max_length=_longest("district"))
    street: str = Field("", max_length=_longest("street"))
    postcode: str = Field("", max_length=_longest("postcode"))
    is_primary: bool = False

    @staticmethod
    def longest(part: str) -> int:
        """The most characters `part` may hold (its column's length)."""
        return _longest(part)


def _address_errors(a: AddressInput, prefix: str = "") -> list[FieldError]:
    errors = []
    if a.kind not in Address.Kind.values:
        errors.append(FieldError(f"{prefix}kind", _("Choose one of: %(choices)s")
                                 % {"choices": ", ".join(Address.Kind.values)}, a.kind))
    country = a.country.strip()
    if len(country) != 2 or not country.isalpha():
        errors.append(FieldError(f"{prefix}country", _("Use a two-letter ISO 3166 code"),
                                 a.country))
    if not any(v.strip() for v in (a.province, a.city, a.district, a.street)):
        errors.append(FieldError(f"{prefix}street",
                                 _("An address needs at least a city or street")))
    return errors


def _address_row(customer: Customer, a: AddressInput, *, is_primary: bool) -> Address:
    """The (unsaved) row of an address as given."""
    return Address(
        customer=customer, kind=a.kind, country=a.country.strip().upper(),
        province=a.province.strip(), city=a.city.strip(), district=a.district.strip(),
        street=a.street.strip(), postcode=a.postcode.strip(), is_primary=is_primary)


def _address_create(actor: Actor, customer: Customer, a: AddressInput) -> Address:
    is_primary = a.is_primary or not customer.addresses.exists()
    if is_primary:
        customer.addresses.update(is_primary=False)
    address = _address_row(customer, a, is_primary=is_primary)
    address.save()
    log_action(actor=actor, action="address.add", obj=address, customer_id=customer.pk,
               changes={"address": [None, str(address)]})
    return address


def address_add(*, actor: Actor, customer: Customer, address: AddressInput) -> Address:
    _check(actor, CustomerAction.CUSTOMER_CHANGE, customer)
    if errors := _address_errors(address):
        raise InvalidInput(errors)
    with transaction.atomic():
        created = _address_create(actor, customer, address)
        run_after_change(customer)
        return created


def address_remove(*, actor: Actor, address: Address) -> None:
    _check(actor, CustomerAction.CUSTOMER_CHANGE, address.customer)
    with transaction.atomic():
        log_action(actor=actor, action="address.remove", obj=address,
                   customer_id=address.customer_id, changes={"address": [str(address), None]})
        address.delete()
        run_after_change(address.customer)
