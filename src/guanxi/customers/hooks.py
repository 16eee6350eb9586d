"""Functions other apps register to run after a customer is created or changed (inside
the same transaction): explicit calls, not signals, so the order and the failure mode
are plain to see. dataquality registers automatic tags here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

CustomerHook = Callable[[Any], Any]
ManyHook = Callable[[list[Any]], Any]
_AFTER_CHANGE: list[tuple[CustomerHook, ManyHook | None]] = []


def register_after_change(hook: CustomerHook, many: ManyHook | None = None) -> None:
    """`many`, if given, handles a batch of customers at once (bulk imports)."""
    if all(h is not hook for h, _m in _AFTER_CHANGE):
        _AFTER_CHANGE.append((hook, many))


def run_after_change(customer: Any) -> None:
    for hook, _many in _AFTER_CHANGE:
        hook(customer)


def run_after_change_many(customers: list[Any]) -> None:
    for hook, many in _AFTER_CHANGE:
        if many is not None:
            many(customers)
        else:
            for customer in customers:
                hook(customer)


# Run after a consent changes (inside the same transaction): (customer, channel, purpose,
# granted). analytics takes a customer out of marketing audiences here the moment the
# marketing consent is withdrawn.
ConsentHook = Callable[[Any, str, str, bool], Any]
_CONSENT_CHANGED: list[ConsentHook] = []


def register_consent_changed(hook: ConsentHook) -> None:
    if all(h is not hook for h in _CONSENT_CHANGED):
        _CONSENT_CHANGED.append(hook)


def run_consent_changed(customer: Any, channel: str, purpose: str, granted: bool) -> None:
    for hook in _CONSENT_CHANGED:
        hook(customer, channel, purpose, granted)
