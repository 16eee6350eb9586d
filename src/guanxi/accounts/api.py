from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from guanxi.core.permissions import effective_role, role_actions

router = Router(tags=["accounts"])


class MeOut(Schema):
    id: int
    username: str
    role: str | None
    team: str | None
    permissions: list[str]


@router.get("/me", response=MeOut, summary="Who the token belongs to and what it may do")
def me(request: HttpRequest) -> Any:
    user = request.user
    role = effective_role(user)
    team = getattr(user, "team", None)
    return {"id": user.pk, "username": user.get_username(), "role": role,
            "team": team.name if team is not None else None,
            "permissions": sorted(role_actions(role))}
