"""The timeline kinds the customers app writes, registered with the timeline kernel in
CustomersConfig.ready(). Each renders its summary from its data, in the language of
whoever looks at it."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from guanxi.core.choices import choice_label
from guanxi.timeline.kinds import (
    INTERACTION,
    INTERNAL,
    LOGGABLE,
    SYSTEM,
    EventKind,
    EventLike,
    register_kinds,
)


def _created(event: EventLike) -> str:
    from guanxi.customers.models import Source

    if not event.source:
        return gettext("Customer created")
    return gettext("Customer created (source: %(source)s)") % {
        "source": choice_label(Source, event.source)}


def field_label(name: str) -> str:
    from guanxi.customers.models import Customer

    try:
        return str(getattr(Customer._meta.get_field(name), "verbose_name", name))
    except Exception:  # a field removed since the event was written
        return name


def _profile(event: EventLike) -> str:
    return gettext("Changed: %(fields)s") % {
        "fields": ", ".join(field_label(f) for f in event.data["fields"])}


def _identity(event: EventLike) -> str:
    from guanxi.customers.models import IdentityKind

    return choice_label(IdentityKind, event.data["kind"])


def _consent(event: EventLike) -> str:
    from guanxi.customers.models import Channel, ConsentPurpose

    data = event.data
    verb = gettext("granted") if data["granted"] else gettext("withdrawn")
    channel = choice_label(Channel, data["channel"])
    purpose = choice_label(ConsentPurpose, data["purpose"])
    return f"{channel} · {purpose}: {verb}"


def _tag(event: EventLike) -> str:
    return str(event.data["tag"])


def _automatic_tags(event: EventLike) -> str:
    data = event.data
    return gettext("Automatic tags: %(changes)s") % {"changes": ", ".join(
        [f"+{n}" for n in data.get("added", [])] + [f"−{n}" for n in data.get("removed", [])])}


def _order_placed(event: EventLike) -> str:
    data = event.data
    return gettext("Order %(ref)s · %(total)s %(currency)s · %(n)s items") % {
        "ref": data["ref"], "total": data["total"], "currency": data["currency"],
        "n": data["items"]}


def _order_status(event: EventLike) -> str:
    from guanxi.customers.models import OrderStatus

    status = event.kind.removeprefix("order_")
    return f"{event.data['ref']} · {choice_label(OrderStatus, status)}"


def _interaction(event: EventLike) -> str:
    """What staff wrote, and the follow-up they set."""
    text = event.summary or ""
    due = event.data.get("follow_up_on")
    if not due:
        return text
    return f"{text} · " + gettext("follow up on %(date)s") % {"date": due}


def _follow_up_done(event: EventLike) -> str:
    return gettext("Follow-up of %(date)s done") % {"date": event.data["due_on"]}


def register_customer_kinds() -> None:
    own = frozenset({INTERNAL, SYSTEM})
    order = {"order_id": int, "ref": str, "total": str, "currency": str, "items": int,
             "skus": list}
    specs: tuple[dict[str, Any], ...] = (
        dict(name="customer_created", label=_("Customer created"), flags=own,
             strict=True, render=_created),
        dict(name="profile_updated", label=_("Profile updated"), flags=own, strict=True,
             fields={"fields": list, "changes": dict}, render=_profile,
             personal=frozenset({"changes"})),
        dict(name="identity_added", label=_("Contact added"), flags=own, strict=True,
             fields={"kind": str, "system": str, "identity_id": int}, render=_identity),
        dict(name="identity_removed", label=_("Contact removed"), flags=own, strict=True,
             fields={"kind": str, "system": str, "identity_id": int}, render=_identity),
        dict(name="identity_changed", label=_("Contact changed"), flags=own, strict=True,
             fields={"kind": str, "system": str, "identity_id": int}, render=_identity),
        dict(name="consent_changed", label=_("Consent changed"), flags=own, strict=True,
             fields={"channel": str, "purpose": str, "granted": bool, "source": str,
                     "proof": str, "notice": str}, render=_consent,
             personal=frozenset({"proof"})),
        dict(name="tag_added", label=_("Tag added"), flags=own, strict=True,
             fields={"tag": str}, render=_tag),
        dict(name="tag_removed", label=_("Tag removed"), flags=own, strict=True,
             fields={"tag": str}, render=_tag),
        dict(name="tags_automatic", label=_("Automatic tags"), flags=own, strict=True,
             fields={"added": list, "removed": list}, render=_automatic_tags),
        dict(name="order_placed", label=_("Order placed"), flags=frozenset({INTERNAL}),
             strict=True, fields=order, render=_order_placed),
        dict(name="order_refunded", label=_("Order refunded"),
             flags=frozenset({INTERNAL}), strict=True, fields=order, render=_order_status),
        dict(name="order_cancelled", label=_("Order cancelled"),
             flags=frozenset({INTERNAL}), strict=True, fields=order, render=_order_status),
        # Logged by staff: the summary is what they wrote (the whole text in data when
        # longer than the summary column).
        dict(name="call", label=_("Call"), flags=frozenset({LOGGABLE, INTERACTION}),
             fields={"text": str, "follow_up_on": str}, personal=frozenset({"text"}),
             render=_interaction),
        dict(name="visit", label=_("Visit"), flags=frozenset({LOGGABLE, INTERACTION}),
             fields={"text": str, "follow_up_on": str}, personal=frozenset({"text"}),
             render=_interaction),
        dict(name="note", label=_("Note"), flags=frozenset({LOGGABLE, INTERACTION}),
             fields={"text": str, "follow_up_on": str}, personal=frozenset({"text"}),
             render=_interaction),
        dict(name="follow_up_done", label=_("Follow-up done"), flags=own, strict=True,
             fields={"due_on": str, "note": str}, render=_follow_up_done,
             personal=frozenset({"note"})),
    )
    register_kinds([EventKind(app="customers", **k) for k in specs])
