"""Writes to customer data, one module per entity. Each function is the one path for its
change: it checks the actor's permission, runs in a transaction, writes the timeline
event and the audit entry. Everything is importable from here."""

from __future__ import annotations

from guanxi.customers.services.addresses import (
    AddressInput,
    address_add,
    address_remove,
)
from guanxi.customers.services.consents import consent_set, consent_set_by_customer
from guanxi.customers.services.events import (
    EventInput,
    customer_viewed,
    events_ingest,
    follow_up_done,
    interaction_log,
)
from guanxi.customers.services.identities import (
    IDENTITY_VALUE_MAX,
    IdentityInput,
    identity_add,
    identity_keys_q,
    identity_remove,
    identity_update,
    normalize_identity,
    refresh_search_terms,
)
from guanxi.customers.services.orders import (
    MAX_UNIT_PRICE,
    OrderLineInput,
    order_create,
    order_set_status,
    product_upsert,
)
from guanxi.customers.services.profiles import (
    EXPORT_COLUMNS,
    PROFILE_FIELDS,
    NewCustomer,
    ProfileChange,
    company_get_or_create,
    company_update,
    customer_create,
    customer_create_automatic,
    customer_delete,
    customer_update,
    customer_update_automatic,
    customers_bulk_create,
    customers_export,
    customers_update_many,
)
from guanxi.customers.services.tags import (
    tag_add,
    tag_remove,
    tags_add,
    tags_apply_automatic,
    tags_remove,
)
from guanxi.customers.services.timeline import event_record

__all__ = [
    "EXPORT_COLUMNS",
    "IDENTITY_VALUE_MAX",
    "MAX_UNIT_PRICE",
    "PROFILE_FIELDS",
    "AddressInput",
    "EventInput",
    "IdentityInput",
    "NewCustomer",
    "OrderLineInput",
    "ProfileChange",
    "address_add",
    "address_remove",
    "company_get_or_create",
    "company_update",
    "consent_set",
    "consent_set_by_customer",
    "customer_create",
    "customer_create_automatic",
    "customer_delete",
    "customer_update",
    "customer_update_automatic",
    "customer_viewed",
    "customers_bulk_create",
    "customers_export",
    "customers_update_many",
    "event_record",
    "events_ingest",
    "follow_up_done",
    "identity_add",
    "identity_keys_q",
    "identity_remove",
    "identity_update",
    "interaction_log",
    "normalize_identity",
    "order_create",
    "order_set_status",
    "product_upsert",
    "refresh_search_terms",
    "tag_add",
    "tag_remove",
    "tags_add",
    "tags_apply_automatic",
    "tags_remove",
]
