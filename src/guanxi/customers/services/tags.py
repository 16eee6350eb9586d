"""Tags on a customer (one audited path for adding and removing)."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils.translation import gettext as _

from guanxi.audit.services import log_action
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
    _check(actor, CustomerAction.TAG_ASSIGN, customer)
    with transaction.atomic():
        tag, created = _tag_link(actor, customer, name)
        if created:
            event_record(customer=customer, kind="tag_added", actor=actor,
                         data={"tag": tag.name})
            log_action(actor=actor, action="tag.add", obj=customer,
                       changes={"tags": [None, tag.name]})
    return tag


def tag_remove(*, actor: Actor, customer: Customer, name: str) -> None:
    _check(actor, CustomerAction.TAG_ASSIGN, customer)
    with transaction.atomic():
        deleted, _detail = CustomerTag.objects.filter(customer=customer, tag__name=name).delete()
        if deleted:
            event_record(customer=customer, kind="tag_removed", actor=actor,
                         data={"tag": name})
            log_action(actor=actor, action="tag.remove", obj=customer,
                       changes={"tags": [name, None]})


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
