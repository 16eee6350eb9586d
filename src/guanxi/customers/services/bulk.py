"""Bulk actions on the customer list: on the ticked customers (at once) or on all N that
match the filters (a durable work item that walks them in chunks and shows progress).
Each action calls the same service a single change uses; other apps register theirs
(e.g. "send a message") with register_bulk_action."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from guanxi.accounts.models import User
from guanxi.accounts.selectors import staff_get
from guanxi.audit.services import log_action
from guanxi.core.errors import InvalidInput
from guanxi.core.models import WorkItem
from guanxi.core.permissions import Actor, can, require
from guanxi.core.work import work_enqueue
from guanxi.customers.extensions import BULK_QUEUE, BulkAction, bulk_action_get
from guanxi.customers.models import Customer
from guanxi.customers.permissions import CustomerAction
from guanxi.customers.selectors import (
    customer_ids_matching,
    customer_search_count,
    visible_customers,
)
from guanxi.customers.services.profiles import ProfileChange, customers_update_many
from guanxi.customers.services.tags import tag_name_clean, tags_add, tags_remove

INLINE_MAX = 200  # ticked customers are changed at once; more go through the worker
CHUNK = 500
FILTER_KEYS = ("q", "tag", "owner_id", "region", "segment_id", "facets")


def _spec(actor: Actor, name: str) -> BulkAction:
    spec = bulk_action_get(name)
    if spec is None:
        raise InvalidInput.single("action", _("Unknown bulk action"), name)
    require(actor, spec.action)
    return spec


def tag_add_run(actor: Actor, customers: list[Customer], value: str) -> int:
    return tags_add(actor=actor, customers=customers, name=value)[1]


def tag_remove_run(actor: Actor, customers: list[Customer], value: str) -> int:
    return tags_remove(actor=actor, customers=customers, name=tag_name_clean(value))


def check_tag(actor: Actor, value: str) -> None:
    if not tag_name_clean(value):
        raise InvalidInput.single("value", _("A tag needs a name"), value)


def _owner(value: str) -> User:
    if not value.isdigit():
        raise InvalidInput.single("value", _("Choose an owner"), value)
    owner = staff_get(user_id=int(value))
    if not can(owner, CustomerAction.CUSTOMER_OWN):
        raise InvalidInput.single("value", _("%(name)s's role cannot own customers")
                                  % {"name": owner}, value)
    return owner


def check_owner(actor: Actor, value: str) -> None:
    _owner(value)


def owner_run(actor: Actor, customers: list[Customer], value: str) -> int:
    owner = _owner(value)
    changes = [ProfileChange(c, {"owner": owner}) for c in customers if c.owner_id != owner.pk]
    if changes:
        customers_update_many(actor=actor, changes=changes)
    return len(changes)


def bulk_apply(*, actor: Actor, action: str, value: str, ids: list[int]) -> int:
    """Apply `action` to the ticked customers (at most INLINE_MAX, those the actor can
    see) in one transaction; returns how many changed."""
    spec = _spec(actor, action)
    spec.check(actor, value)
    if not ids:
        raise InvalidInput.single("ids", _("Tick at least one customer"), ids)
    if len(ids) > INLINE_MAX:
        raise InvalidInput.single("ids", _("Tick at most %(n)s customers, or choose all "
                                           "matching") % {"n": INLINE_MAX}, len(ids))
    customers = list(visible_customers(actor).select_related("owner").filter(pk__in=ids)
                     .order_by("pk"))
    with transaction.atomic():
        return spec.run(actor, customers, value)


def bulk_start(*, actor: Actor, action: str, value: str,
               filters: Mapping[str, Any]) -> WorkItem:
    """Queue `action` for every customer matching `filters` (as the list has them); the
    worker applies it in chunks of CHUNK with progress. Audited with the count."""
    spec = _spec(actor, action)
    spec.check(actor, value)
    wanted = {k: filters[k] for k in FILTER_KEYS if filters.get(k) not in (None, "", {})}
    total, _exact = customer_search_count(actor=actor, **wanted)
    with transaction.atomic():
        item = work_enqueue(BULK_QUEUE, {"actor_id": getattr(actor, "pk", None),
                                         "action": action, "value": value,
                                         "filters": wanted, "total": total})
        log_action(actor=actor, action="customer.bulk", object_type="core.workitem",
                   object_id=str(item.pk),
                   extra={"action": action, "value": value, "filters": wanted,
                          "matching": total})
    return item


def bulk_work(item: WorkItem, ctx: Any) -> dict[str, Any]:
    """The worker's side of bulk_start. Every action is idempotent (a customer already
    tagged or owned is left alone), so a retried item just walks the list again."""
    payload = item.payload
    actor = User.objects.filter(pk=payload.get("actor_id"), is_active=True).first()
    if actor is None:
        raise PermissionError("the person who started this bulk action is gone")
    spec = _spec(actor, payload["action"])
    total = int(payload.get("total") or 0)
    after, done, changed = 0, 0, 0
    ctx.progress(0, total)
    while ids := customer_ids_matching(actor=actor, **payload["filters"], after_id=after,
                                       limit=CHUNK):
        customers = list(Customer.objects.select_related("owner").filter(pk__in=ids)
                         .order_by("pk"))
        with transaction.atomic():
            ctx.renew()
            changed += spec.run(actor, customers, payload["value"])
        after, done = ids[-1], done + len(ids)
        ctx.progress(done, max(total, done))
    return {"matched": done, "changed": changed}
