"""Tags on a customer (one audited path for adding and removing)."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.audit.services import log_action, log_actions
from guanxi.core.bulk import insert_objects
from guanxi.core.errors import InvalidInput
from guanxi.core.permissions import Actor, staff
from guanxi.customers.models import (
    Customer,
    CustomerTag,
    Tag,
)
from guanxi.customers.permissions import CustomerAction
from guanxi.customers.services.access import _check
from guanxi.customers.services.timeline import event_record
from guanxi.timeline.services import NewEvent, events_append_many


def tag_name_clean(name: str) -> str:
    """A tag name as stored: spaces collapsed, at most 50 characters ("" if none left)."""
    return " ".join(name.split())[:50]


def _tag_link(actor: Actor, customer: Customer, name: str) -> tuple[Tag, bool]:
    clean = tag_name_clean(name)
    if not clean:
        raise InvalidInput.single("name", _("A tag needs a name"), name)
    tag, _created = Tag.objects.get_or_create(name=clean)
    _link, created = CustomerTag.objects.get_or_create(
        customer=customer, tag=tag,
        defaults={"added_by": staff(actor)})
    return tag, created


def tag_add(*, actor: Actor, customer: Customer, name: str) -> Tag:
    """Tag one customer (tags_add with one)."""
    return tags_add(actor=actor, customers=[customer], name=name)[0]


def tags_add(*, actor: Actor, customers: Sequence[Customer], name: str) -> tuple[Tag, int]:
    """Tag customers (one, or a bulk action's chunk): each one not yet tagged gets the
    link, a timeline event and an audit entry, in one transaction. Returns the tag and how
    many customers gained it."""
    for customer in customers:
        _check(actor, CustomerAction.TAG_ASSIGN, customer)
    clean = tag_name_clean(name)
    if not clean:
        raise InvalidInput.single("name", _("A tag needs a name"), name)
    with transaction.atomic():
        tag, _created = Tag.objects.get_or_create(name=clean)
        have = set(CustomerTag.objects.filter(tag=tag, customer__in=customers)
                   .values_list("customer_id", flat=True))
        new = [c for c in dict.fromkeys(customers) if c.pk not in have]
        insert_objects(CustomerTag, [{"customer": c.pk, "tag": tag.pk,
                                      "added_by": getattr(staff(actor), "pk", None),
                                      "added_at": timezone.now()} for c in new],
                       ignore_conflicts=True)
        now, by = timezone.now(), getattr(staff(actor), "pk", None)
        events_append_many([NewEvent(customer_id=c.pk, kind="tag_added", occurred_at=now,
                                     data={"tag": tag.name}, actor_id=by) for c in new])
        log_actions(actor=actor, action="tag.add",
                    entries=[(c, {"tags": [None, tag.name]}) for c in new])
    return tag, len(new)


def tag_remove(*, actor: Actor, customer: Customer, name: str) -> None:
    """Untag one customer (tags_remove with one)."""
    tags_remove(actor=actor, customers=[customer], name=name)


def tags_remove(*, actor: Actor, customers: Sequence[Customer], name: str) -> int:
    """Remove a tag from customers; those who had it get a timeline event and an audit
    entry. Returns how many lost it."""
    for customer in customers:
        _check(actor, CustomerAction.TAG_ASSIGN, customer)
    with transaction.atomic():
        links = CustomerTag.objects.filter(customer__in=customers, tag__name=name)
        had = set(links.values_list("customer_id", flat=True))
        links.delete()
        gone = [c for c in dict.fromkeys(customers) if c.pk in had]
        now, by = timezone.now(), getattr(staff(actor), "pk", None)
        events_append_many([NewEvent(customer_id=c.pk, kind="tag_removed", occurred_at=now,
                                     data={"tag": name}, actor_id=by) for c in gone])
        log_actions(actor=actor, action="tag.remove",
                    entries=[(c, {"tags": [name, None]}) for c in gone])
    return len(gone)


def tags_apply_automatic(*, customer: Customer, add: Sequence[str],
                         remove: Sequence[str]) -> tuple[list[str], list[str]]:
    """The system's own tag changes (automatic tag rules, automation steps): the tags of
    `add` the customer lacks are added and those of `remove` they have are removed, with
    one timeline event and one audit entry, like a person's; nothing is written when the
    customer already is as asked. Returns the (added, removed) names."""
    add = [n for n in dict.fromkeys(tag_name_clean(n) for n in add) if n]
    remove = [n for n in dict.fromkeys(tag_name_clean(n) for n in remove) if n]
    if not add and not remove:
        return [], []
    have = set(CustomerTag.objects.filter(customer=customer, tag__name__in=[*add, *remove])
               .values_list("tag__name", flat=True))
    added = [n for n in add if n not in have]
    removed = [n for n in remove if n in have]
    if not added and not removed:
        return [], []
    with transaction.atomic():
        for name in added:
            _tag_link(None, customer, name)
        if removed:
            CustomerTag.objects.filter(customer=customer, tag__name__in=removed).delete()
        event_record(customer=customer, kind="tags_automatic",
                     data={"added": added, "removed": removed})
        log_action(actor=None, action="tag.automatic", obj=customer,
                   changes={"tags": [removed, added]})
    return added, removed
