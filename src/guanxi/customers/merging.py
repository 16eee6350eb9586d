"""How the rows that belong to a customer follow a merge and its undo.

Every model with a foreign key to Customer declares a rule; its app registers it in
`AppConfig.ready()` (customers registers its own below the import line of its config).
The merge refuses to start while any such model has no rule, so a table added later
can never make a merge fail half-way (or silently lose rows through a cascade), and a
test walks every foreign key to Customer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import models


class Strategy(StrEnum):
    # Every row of the absorbed customer moves to the kept one.
    MOVE = "move"
    # Rows that share `key` with one of the kept customer's: the newer by `time_field`
    # stays and the other is removed (kept for the undo); the rest move.
    KEEP_NEWER = "keep_newer"
    # Rows that share `key` with one of the kept customer's: the kept customer's row
    # stays; the rest move. An empty key means one row per customer (a one-to-one).
    KEEP_SURVIVOR = "keep_survivor"
    # The absorbed customer's rows are removed (kept for the undo): derived data the
    # kept customer recomputes, or pairs that mean nothing once the two are one.
    REMOVE = "remove"
    # The merge writes these rows itself (the merge record).
    IGNORE = "ignore"
    # The rule's `fold(survivor, absorbed)` combines the absorbed customer's row with the
    # kept one's (a points balance and its ledger); an undo does not split them again.
    FOLD = "fold"


@dataclass(frozen=True)
class MergeRule:
    """What one foreign key to Customer does in a merge and its undo."""

    model: type[models.Model]
    strategy: Strategy
    field: str = "customer"
    key: tuple[str, ...] = ()
    time_field: str = ""
    # Only rows matching this can conflict (a partial unique constraint).
    conflict_filter: models.Q | None = None
    # Called with the affected customers after the merge and after its undo, inside
    # the same transaction: recompute what the rows were derived from.
    after: Callable[[list[Any]], None] | None = None
    fold: Callable[[Any, Any], None] | None = None

    @property
    def label(self) -> str:
        return f"{self.model._meta.label}.{self.field}"


_RULES: dict[str, MergeRule] = {}


def register_merge_rule(rule: MergeRule) -> None:
    if rule.strategy is Strategy.KEEP_NEWER and not rule.time_field:
        raise ImproperlyConfigured(f"{rule.label}: keep_newer needs a time_field")
    if (rule.strategy is Strategy.FOLD) != (rule.fold is not None):
        raise ImproperlyConfigured(f"{rule.label}: fold goes with Strategy.FOLD")
    _RULES[rule.label] = rule


def register_merge_rules(rules: Iterable[MergeRule]) -> None:
    for rule in rules:
        register_merge_rule(rule)


def customer_foreign_keys() -> list[models.ForeignKey[Any, Any]]:
    """Every foreign key (and one-to-one) to Customer in every installed app, including
    those without a reverse accessor (related_name="+"), which `related_objects` leaves
    out."""
    from guanxi.customers.models import Customer

    return [f.field for f in Customer._meta.get_fields(include_hidden=True)
            if isinstance(f, models.ForeignObjectRel) and isinstance(f.field, models.ForeignKey)]


def merge_rules() -> list[MergeRule]:
    """The rule of every foreign key to Customer; ImproperlyConfigured names the ones
    without a rule."""
    fks = customer_foreign_keys()
    missing = [f"{fk.model._meta.label}.{fk.name}" for fk in fks
               if f"{fk.model._meta.label}.{fk.name}" not in _RULES]
    if missing:
        raise ImproperlyConfigured(
            "No merge rule for " + ", ".join(sorted(missing))
            + ": register one with guanxi.customers.merging.register_merge_rule")
    return [_RULES[f"{fk.model._meta.label}.{fk.name}"] for fk in fks]


def register_customer_rules() -> None:
    from guanxi.customers.models import (
        Address,
        Consent,
        CustomerTag,
        Event,
        FollowUp,
        Identity,
        Order,
        RecentView,
        SearchTerm,
    )

    register_merge_rules([
        MergeRule(Identity, Strategy.MOVE),
        MergeRule(Address, Strategy.MOVE),
        MergeRule(Order, Strategy.MOVE),
        MergeRule(Event, Strategy.MOVE),
        MergeRule(CustomerTag, Strategy.KEEP_NEWER, key=("tag_id",), time_field="added_at"),
        MergeRule(Consent, Strategy.KEEP_NEWER, key=("channel", "purpose"),
                  time_field="changed_at"),
        # Rebuilt for the kept customer from its merged fields and identities.
        MergeRule(SearchTerm, Strategy.REMOVE),
        MergeRule(FollowUp, Strategy.MOVE),
        MergeRule(RecentView, Strategy.KEEP_NEWER, key=("user_id",), time_field="viewed_at"),
    ])
