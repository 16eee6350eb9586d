"""The permission and visibility check every customer write makes first."""

from __future__ import annotations

from django.utils.translation import gettext as _

from guanxi.core.errors import NotFound
from guanxi.core.permissions import Actor, require
from guanxi.customers.models import (
    Customer,
)
from guanxi.customers.selectors import customer_is_visible


def _check(actor: Actor, action: str, customer: Customer) -> None:
    require(actor, action)
    if not customer_is_visible(actor, customer):
        raise NotFound(_("Customer not found"))
