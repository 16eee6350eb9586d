from __future__ import annotations

from django.http import HttpRequest

from guanxi.core.permissions import effective_role
from guanxi.core.shell import nav_for


def navigation(request: HttpRequest) -> dict[str, object]:
    """The user's role and the navigation entries the apps registered that it may see.
    (Templates ask about single actions with `user|may:"<action>"`.)"""
    user = getattr(request, "user", None)
    return {
        "role": effective_role(user),
        "nav": nav_for(user) if getattr(user, "is_authenticated", False) else [],
    }
