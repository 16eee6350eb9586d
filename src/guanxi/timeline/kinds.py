"""The event-kind registry: every app declares the kinds of timeline event it writes,
with a label, flags that readers (scoring, churn, the ingest API, the UI) ask about,
the fields of its data and how its one-line summary reads.

Summaries are rendered when shown, in the viewer's language, from the event's data; the
stored `summary` column carries only free text a person or another system wrote (a
note, an ingested message)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# Flags every reader understands. Apps may add their own (a flag is a string).
INTERNAL = "internal"        # only Guanxi's services write it; the ingest API may not
SYSTEM = "system"            # a record about the customer, not something the customer did
INTERACTION = "interaction"  # a touch between the customer and the business (churn)
COMPLAINT = "complaint"      # a complaint (churn, service)
MARKETING = "marketing"      # a message the business sent
LOGGABLE = "loggable"        # staff log it by hand on the 360 page (call, visit, note)
VALUE_TIER = "value_tier"    # a change of value tier (scoring counts tier changes)
SEGMENT = "segment"          # offered by the segment builder although internal

_CUSTOM = re.compile(r"^custom\.[a-z][a-z0-9_]{0,56}$")


class EventLike(Protocol):
    kind: str
    data: Any
    summary: str
    source: str
    channel: str


Render = Callable[[EventLike], str]


@dataclass(frozen=True)
class EventKind:
    """One kind of event. `fields` maps each data key the kind writes to its type(s);
    `strict` kinds may carry no other key (the ones Guanxi writes itself), others (those
    other systems send) may carry more. `render(event)` returns the summary line in the
    active language; without it the stored free text is shown."""

    name: str
    label: str | Promise
    flags: frozenset[str] = frozenset()
    fields: Mapping[str, type | tuple[type, ...]] = field(default_factory=dict)
    strict: bool = False
    render: Render | None = None
    app: str = ""
    # Data keys that may hold personal data (names, free text, old and new values):
    # left out for roles that see personal data masked, and cleared by erasure.
    personal: frozenset[str] = frozenset()

    def has(self, flag: str) -> bool:
        return flag in self.flags


_KINDS: dict[str, EventKind] = {}


def register_kind(kind: EventKind) -> None:
    existing = _KINDS.get(kind.name)
    if existing is not None and existing.app != kind.app:
        raise ValueError(f"event kind {kind.name!r} is already registered by {existing.app!r}")
    _KINDS[kind.name] = kind


def register_kinds(kinds: list[EventKind]) -> None:
    for kind in kinds:
        register_kind(kind)


def get_kind(name: str) -> EventKind | None:
    return _KINDS.get(name)


def all_kinds() -> list[EventKind]:
    return sorted(_KINDS.values(), key=lambda k: k.name)


def kinds_with(flag: str) -> tuple[str, ...]:
    """Names of the registered kinds carrying `flag`, sorted."""
    return tuple(sorted(k.name for k in _KINDS.values() if flag in k.flags))


def kinds_without(flag: str) -> tuple[str, ...]:
    return tuple(sorted(k.name for k in _KINDS.values() if flag not in k.flags))


def kind_choices() -> list[tuple[str, str]]:
    """(name, label) of every registered kind, for pickers (automation triggers)."""
    return [(k.name, str(k.label)) for k in all_kinds()]


def is_custom(name: str) -> bool:
    return bool(_CUSTOM.match(name))


def is_ingestible(name: str) -> bool:
    """Whether another system may send events of this kind (API ingest, imports)."""
    kind = _KINDS.get(name)
    return (kind is not None and INTERNAL not in kind.flags) or is_custom(name)


def kind_label(name: str) -> str:
    kind = _KINDS.get(name)
    if kind is not None:
        return str(kind.label)
    return name.removeprefix("custom.").replace("_", " ") if is_custom(name) else name


_TYPE_NAMES = {str: "text", int: "integer", float: "number", bool: "true or false",
               list: "list", dict: "object"}


def data_errors(name: str, data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(key, what is wrong) for each data value that does not fit the kind: a key a
    strict kind does not declare, a value of the wrong type."""
    kind = _KINDS.get(name)
    if kind is None:
        return [] if is_custom(name) else [("", f"unknown event kind {name!r}")]
    errors = []
    for key, value in data.items():
        expected = kind.fields.get(key)
        if expected is None:
            if kind.strict:
                errors.append((key, "not a field of this kind"))
            continue
        if value is not None and not isinstance(value, expected):
            types = expected if isinstance(expected, tuple) else (expected,)
            errors.append((key, "should be " + " or ".join(
                _TYPE_NAMES.get(t, t.__name__) for t in types)))
    return errors


def check_data(name: str, data: Mapping[str, Any]) -> None:
    """Programming errors in what a service writes (unknown kind, undeclared key, wrong
    type). Input from people and other systems is checked with `data_errors` by the
    service that receives it, which answers with field errors."""
    errors = data_errors(name, data)
    if errors:
        raise ValueError(f"event {name!r}: " + "; ".join(f"{k}: {why}" for k, why in errors))


def personal_keys(name: str) -> frozenset[str]:
    kind = _KINDS.get(name)
    # Unknown and custom kinds come from other systems: all of their data may be personal.
    return kind.personal if kind is not None else frozenset({"*"})


def masked_data(name: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """The event's data without the keys that may hold personal data."""
    keys = personal_keys(name)
    if "*" in keys:
        return {}
    return {k: v for k, v in data.items() if k not in keys}


def render_summary(event: EventLike) -> str:
    """The event's one-line summary in the active language."""
    kind = _KINDS.get(event.kind)
    if kind is not None and kind.render is not None:
        try:
            return kind.render(event)
        except (KeyError, TypeError, ValueError, AttributeError):
            # Data written before the kind's fields were settled: the free text, if any.
            return event.summary or ""
    return event.summary or ""


def register_core_kinds() -> None:
    """Kinds that are about any system event source rather than one app's model: what
    other systems send about a customer's behaviour (no app of Guanxi writes them)."""
    free = {"text": str, "subject": str, "url": str, "message_id": str, "campaign": str}
    personal = frozenset({"text", "subject", "url"})
    for name, label, flags in (
        ("email_sent", _("Email sent"), {MARKETING}),
        ("email_opened", _("Email opened"), {INTERACTION}),
        ("email_clicked", _("Email link clicked"), {INTERACTION}),
        ("sms_sent", _("SMS sent"), {MARKETING}),
        ("wechat_message", _("WeChat message"), {INTERACTION}),
        ("page_viewed", _("Page viewed"), {INTERACTION}),
        ("app_opened", _("App opened"), {INTERACTION}),
        ("store_visit", _("Store visit"), {INTERACTION}),
        ("cart_abandoned", _("Cart abandoned"), {INTERACTION}),
        ("complaint", _("Complaint"), {INTERACTION, COMPLAINT}),
        ("feedback", _("Feedback"), {INTERACTION}),
    ):
        register_kind(EventKind(name, label, frozenset(flags), free, app="timeline",
                                personal=personal))
