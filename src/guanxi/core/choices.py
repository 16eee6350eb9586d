"""Codes shown to people: a TextChoices value as its label in the active language."""

from __future__ import annotations

from typing import Any


def choice_label(choices: Any, value: Any) -> str:
    """`value`'s label in `choices` ("" for no value; the value itself if it is not one
    of the choices, e.g. a code since retired)."""
    if value in (None, ""):
        return ""
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)
