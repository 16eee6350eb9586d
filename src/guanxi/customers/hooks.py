"""Functions other apps register to run after a customer is created or changed (inside
the same transaction): explicit calls, not signals, so the order and the failure mode
are plain to see. dataquality registers automatic tags here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

CustomerHook = Callable[[Any], Any]
_AFTER_CHANGE: list[CustomerHook] = []


def register_after_change(hook: CustomerHook) -> None:
    if hook not in _AFTER_CHANGE:
        _AFTER_CHANGE.append(hook)


def run_after_change(customer: Any) -> None:
    for hook in _AFTER_CHANGE:
        hook(customer)
