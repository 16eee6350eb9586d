from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet

from guanxi.accounts.models import ApiToken, RolePolicy, User
from guanxi.core.errors import InvalidInput
from guanxi.core.permissions import Actor, effective_role, is_team_scoped


def staff_list(*, actor: Actor) -> QuerySet[User]:
    """Staff the actor can pick as an owner: their team for sales, everyone otherwise."""
    qs = User.objects.filter(is_active=True).order_by("username")
    if is_team_scoped(actor):
        qs = qs.filter(team_id=actor.team_id) if actor.team_id else qs.filter(pk=actor.pk)
    return qs


def staff_get(*, user_id: int) -> User:
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        raise InvalidInput.single("owner_id", "No active staff user with this id", user_id)
    return user


@dataclass(frozen=True)
class SignIn:
    at: dt.datetime
    ok: bool
    ip_address: str | None
    user_agent: str
    locked_out: bool = False
    signed_out_at: dt.datetime | None = None


def sign_in_history(*, user: User, limit: int = 50) -> list[SignIn]:
    """The user's recent sign-ins and failed attempts (django-axes' logs), newest first."""
    from axes.models import AccessFailureLog, AccessLog

    name = user.get_username()
    ok = [SignIn(a.attempt_time, True, a.ip_address, a.user_agent, signed_out_at=a.logout_time)
          for a in AccessLog.objects.filter(username=name).order_by("-attempt_time")[:limit]]
    failed = [SignIn(a.attempt_time, False, a.ip_address, a.user_agent,
                     locked_out=a.locked_out)
              for a in AccessFailureLog.objects.filter(username=name)
              .order_by("-attempt_time")[:limit]]
    return sorted(ok + failed, key=lambda s: s.at, reverse=True)[:limit]


def two_factor_required(user: User) -> bool:
    """Whether the user's role requires two-factor sign-in (superusers count as admins)."""
    role = effective_role(user)
    return role is not None and RolePolicy.objects.filter(
        role=role, require_two_factor=True).exists()


def token_list(*, user: User) -> QuerySet[ApiToken]:
    """The user's own API tokens, newest first."""
    return ApiToken.objects.filter(user=user).order_by("-created_at")
