from __future__ import annotations

from django.http import HttpRequest

from guanxi.core.permissions import effective_role
from guanxi.core.shell import nav_for, settings_for


def navigation(request: HttpRequest) -> dict[str, object]:
    """The user's role, the navigation entries the apps registered that it may see, and
    which of them the current page belongs to (the longest link the path starts with).
    (Templates ask about single actions with `user|may:"<action>"`.)"""
    user = getattr(request, "user", None)
    if not getattr(user, "is_authenticated", False):
        return {"role": None, "nav": [], "nav_active": None, "has_settings": False}
    entries = nav_for(user)
    links = [(e.name, e.href()) for e in entries]
    matching = [(len(href), name) for name, href in links
                if href != "#" and request.path.startswith(href)]
    return {
        "role": effective_role(user),
        "nav": entries,
        "has_settings": bool(settings_for(user)),
        "nav_active": max(matching)[1] if matching else (
            "home" if request.path == "/" else
            "settings" if request.path.startswith("/settings/") else None),
    }
