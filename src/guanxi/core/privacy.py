"""Where a person's data lives: each app registers, in AppConfig.ready(), the personal data
it holds about a customer — what it is and why it is kept (the records of processing),
how to copy it out (access requests) and how to erase it (erasure requests). The privacy
app walks this registry; a new app that stores personal data registers here and is
covered by the data-subject export, erasure and the canary test at once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy


@dataclass(frozen=True)
class Person:
    """The person being exported or erased: their customer id and every value that
    identifies them (names, contacts, ids, address lines), for the places that hold them
    inside free data (files, audit values, snapshots)."""

    customer_id: int
    values: frozenset[str]
    # Customers merged into this one: their old records are the same person's.
    other_ids: frozenset[int] = frozenset()

    @cached_property
    def _folded(self) -> tuple[str, ...]:
        return tuple(v.casefold() for v in self.values)

    @cached_property
    def _numbers(self) -> tuple[str, ...]:
        return tuple(v for v in self.values if v.isdigit() and len(v) >= 7)

    def found_in(self, text: str) -> bool:
        """Whether `text` contains one of the person's values (digits of phone numbers
        compared without spaces or dashes). Called for every cell of every stored import
        file on an erasure, so the values are folded once."""
        if not text:
            return False
        plain = text.casefold()
        if any(value in plain for value in self._folded):
            return True
        if not self._numbers:
            return False
        digits = "".join(ch for ch in text if ch.isdigit())
        return any(number in digits for number in self._numbers)


@dataclass(frozen=True)
class PersonalData:
    """One kind of personal data an app keeps about a customer.

    `fields`: field -> category ("identity", "contact", "demographic", "behaviour",
    "transaction", "preference", "derived", "record"); `purposes` and `recipients` (where it
    goes: channels, webhooks) feed the records-of-processing page. `export` returns the
    person's rows as plain JSON-able dicts; `erase` removes or irreversibly replaces them
    and returns how many rows or files it changed."""

    name: str
    label: str | Promise
    app: str
    fields: dict[str, str]
    purposes: Sequence[str | Promise]
    export: Callable[[Person], list[dict[str, Any]]]
    erase: Callable[[Person], int]
    recipients: Sequence[str | Promise] = field(default_factory=tuple)
    # Erasure runs in this order (lower first); the profile itself goes last so the others
    # can still read what they need.
    order: int = 50


# The categories of personal data, as the records of processing show them.
CATEGORY_LABELS: dict[str, str | Promise] = {
    "identity": gettext_lazy("identity"), "contact": gettext_lazy("contact"),
    "demographic": gettext_lazy("demographic"), "behaviour": gettext_lazy("behaviour"),
    "transaction": gettext_lazy("transaction"), "preference": gettext_lazy("preference"),
    "derived": gettext_lazy("derived"), "record": gettext_lazy("record"),
}

_SOURCES: dict[str, PersonalData] = {}


def register_personal_data(source: PersonalData) -> None:
    existing = _SOURCES.get(source.name)
    if existing is not None and existing.app != source.app:
        raise ValueError(f"personal data {source.name!r} is already registered by "
                         f"{existing.app!r}")
    _SOURCES[source.name] = source


def personal_data_sources() -> list[PersonalData]:
    return sorted(_SOURCES.values(), key=lambda s: (s.order, s.name))


ERASED = "[erased]"


def redact(value: Any, person: Person) -> Any:
    """`value` with every string that holds one of the person's values replaced by
    ERASED (dicts and lists walked): for JSON kept for other reasons (audit values,
    snapshots, raw import rows)."""
    if isinstance(value, str):
        return ERASED if person.found_in(value) else value
    if isinstance(value, list):
        return [redact(v, person) for v in value]
    if isinstance(value, dict):
        return {k: redact(v, person) for k, v in value.items()}
    return value


_RELATED: list[Callable[[int], set[int]]] = []


def register_related_ids(resolver: Callable[[int], set[int]]) -> None:
    """An app that keeps records under other customer ids that are the same person (the
    merged duplicates) says which."""
    if resolver not in _RELATED:
        _RELATED.append(resolver)


def related_ids(customer_id: int) -> frozenset[int]:
    return frozenset(i for resolver in _RELATED for i in resolver(customer_id))


def erase_everywhere(person: Person) -> dict[str, int]:
    """Run every registered erasure for the person (in order); returns what each changed.
    The caller holds the transaction."""
    return {source.name: source.erase(person) for source in personal_data_sources()}


def export_everything(person: Person) -> dict[str, list[dict[str, Any]]]:
    return {source.name: source.export(person) for source in personal_data_sources()}


@dataclass(frozen=True)
class RetentionRule:
    """How long one kind of data is kept: `setting` names the Django setting holding the
    period in `unit` ("days" or "years"; 0 keeps it for ever). `due(cutoff)` counts what
    is older than the cutoff; `apply(cutoff)` deletes or anonymises it and returns how
    many it changed. Apps register theirs in AppConfig.ready(); the nightly retention job
    and its preview walk them."""

    name: str
    label: str | Promise
    app: str
    setting: str
    unit: str
    action: str | Promise  # "deleted", "anonymised"
    due: Callable[[Any], int]
    apply: Callable[[Any], int]


_RETENTION: dict[str, RetentionRule] = {}


def register_retention(rule: RetentionRule) -> None:
    _RETENTION[rule.name] = rule


def retention_rules() -> list[RetentionRule]:
    return sorted(_RETENTION.values(), key=lambda r: r.name)
