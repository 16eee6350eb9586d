"""`{% load permissions %}{% if user|may:"customer.export" %}`: a template asks the
permissions registry about an action by its code, so no central list of flags is needed."""

from typing import Any

from django import template

from guanxi.core.permissions import can

register = template.Library()


@register.filter
def may(user: Any, action: str) -> bool:
    return can(user, action)


@register.filter
def minutes(value: Any) -> int:
    """A timedelta in whole minutes (rounded up)."""
    seconds = value.total_seconds() if hasattr(value, "total_seconds") else float(value or 0)
    return int(-(-seconds // 60))
