"""What the customers app lets roles do, registered in its AppConfig.ready()."""

from __future__ import annotations

from enum import StrEnum

from django.utils.translation import gettext_lazy as _

from guanxi.core.permissions import Role, register_actions


class CustomerAction(StrEnum):
    CUSTOMER_VIEW = "customer.view"
    CUSTOMER_CREATE = "customer.create"
    CUSTOMER_CHANGE = "customer.change"
    CUSTOMER_DELETE = "customer.delete"
    CUSTOMER_OWN = "customer.own"
    CUSTOMER_EXPORT = "customer.export"
    IDENTITY_CHANGE = "identity.change"
    CONSENT_CHANGE = "consent.change"
    TAG_ASSIGN = "tag.assign"
    ORDER_CREATE = "order.create"
    EVENT_CREATE = "event.create"
    INTERACTION_LOG = "interaction.log"


def register_customers_actions() -> None:
    a = CustomerAction
    register_actions(a, {
        a.CUSTOMER_VIEW: _("View customers"),
        a.CUSTOMER_CREATE: _("Create customers"),
        a.CUSTOMER_CHANGE: _("Change customers"),
        a.CUSTOMER_DELETE: _("Delete customers"),
        a.CUSTOMER_OWN: _("Own customers (be a customer's owner)"),
        a.CUSTOMER_EXPORT: _("Export customers"),
        a.IDENTITY_CHANGE: _("Change contacts"),
        a.CONSENT_CHANGE: _("Change consent"),
        a.TAG_ASSIGN: _("Tag customers"),
        a.ORDER_CREATE: _("Record orders"),
        a.EVENT_CREATE: _("Send events (API)"),
        a.INTERACTION_LOG: _("Log calls, visits and notes"),
    }, {
        a.CUSTOMER_VIEW: (Role.MANAGER, Role.SALES, Role.SERVICE, Role.MARKETING, Role.ANALYST),
        a.CUSTOMER_CREATE: (Role.MANAGER, Role.SALES),
        a.CUSTOMER_CHANGE: (Role.MANAGER, Role.SALES, Role.SERVICE),
        a.CUSTOMER_DELETE: (Role.MANAGER,),
        a.CUSTOMER_OWN: (Role.MANAGER, Role.SALES),
        a.CUSTOMER_EXPORT: (Role.MANAGER, Role.MARKETING, Role.ANALYST),
        a.IDENTITY_CHANGE: (Role.MANAGER, Role.SALES, Role.SERVICE),
        a.CONSENT_CHANGE: (Role.MANAGER, Role.SALES, Role.SERVICE, Role.MARKETING),
        a.TAG_ASSIGN: (Role.MANAGER, Role.SALES, Role.SERVICE, Role.MARKETING),
        a.ORDER_CREATE: (Role.MANAGER, Role.SALES),
        a.EVENT_CREATE: (Role.MANAGER, Role.SALES, Role.SERVICE),
        a.INTERACTION_LOG: (Role.MANAGER, Role.SALES, Role.SERVICE),
    }, app="customers")
