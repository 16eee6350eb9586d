"""Workspace UI helpers for templates: `{% load ui %}{% icon "users" %}` inlines one of the
vendored Tabler icons (an inline SVG needs no icon font and no extra request), and
`{% sort_link %}`/`{% query %}` build list URLs that keep the other parameters."""

from __future__ import annotations

import functools
import re
from typing import Any

from django import template
from django.contrib.staticfiles import finders
from django.http import QueryDict
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

ICON_DIR = "vendor/tabler-icons-3.52.0"
_SVG_OPEN = re.compile(r"<svg\b[^>]*>", re.S)


@functools.cache
def _icon_body(name: str) -> str:
    path = finders.find(f"{ICON_DIR}/{name}.svg")
    if not path or not re.fullmatch(r"[a-z0-9-]+", name):
        raise template.TemplateSyntaxError(
            f"unknown icon {name!r}: add it to {ICON_DIR}/ICONS and run `make vendor`")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return _SVG_OPEN.sub("", text, count=1).replace("</svg>", "").strip()


@register.simple_tag
def icon(name: str, css: str = "") -> SafeString:
    """An outline icon, decorative (aria-hidden): the text beside it says what it means."""
    body = _icon_body(name)
    classes = f"icon {css}".strip()
    return mark_safe(  # noqa: S308 - the SVG is a vendored file, the name is checked
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{classes}" width="24" height="24" '
        f'viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" '
        f'stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" focusable="false">'
        f"{body}</svg>")


@register.simple_tag(takes_context=True)
def query(context: Any, **changes: Any) -> str:
    """The current query string with `changes` applied (None or "" removes a key); the
    page cursor is dropped whenever anything else changes."""
    params: QueryDict = context["request"].GET.copy()
    if any(k not in ("cursor", "before") for k in changes):
        params.pop("cursor", None)
        params.pop("before", None)
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = str(value)
    return "?" + params.urlencode() if params else "?"


@register.simple_tag
def sparkline(series: Any, label: str = "") -> SafeString:
    """A small line chart of `series` as inline SVG (no script, drawn with the page)."""
    values = [float(v) for v in (series or ())]
    if len(values) < 2:
        return mark_safe("")
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    step = 100 / (len(values) - 1)
    points = " ".join(f"{i * step:.1f},{28 - (v - low) / span * 26:.1f}"
                      for i, v in enumerate(values))
    title = escape(label)
    return mark_safe(  # noqa: S308 - numbers and an escaped label only
        f'<svg class="gx-spark" viewBox="0 0 100 30" preserveAspectRatio="none" role="img" '
        f'aria-label="{title}"><title>{title}</title><polyline fill="none" '
        f'stroke="currentColor" stroke-width="2" vector-effect="non-scaling-stroke" '
        f'points="{points}"/></svg>')
