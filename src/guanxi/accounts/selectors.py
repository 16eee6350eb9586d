from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from guanxi.accounts.models import ApiToken, RolePolicy, SavedView, Team, User
from guanxi.accounts.permissions import AccountAction
from guanxi.core.errors import InvalidInput, NotFound
from guanxi.core.permissions import (
    Actor,
    effective_role,
    is_team_scoped,
    require,
    roles_granted,
)


def staff_list(*, actor: Actor, able_to: str | None = None) -> QuerySet[User]:
    """Active staff the actor may pick (their team for sales, everyone otherwise), by
    name; with `able_to`, only those whose role is granted that action (e.g. the owners
    of customers: "customer.own")."""
    qs = User.objects.filter(is_active=True).order_by("last_name", "first_name", "username")
    if able_to is not None:
        qs = qs.filter(Q(role__in=roles_granted(able_to)) | Q(is_superuser=True))
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


def saved_views(*, actor: Actor, list_name: str) -> list[SavedView]:
    """The actor's own views of a list and those others shared, by name."""
    if not getattr(actor, "pk", None):
        return []
    return list(SavedView.objects.filter(Q(owner=actor) | Q(shared=True), list_name=list_name)
                .select_related("owner").order_by("name", "pk"))


def saved_view_get(*, actor: Actor, view_id: int) -> SavedView:
    view = SavedView.objects.filter(Q(owner=actor) | Q(shared=True), pk=view_id).first() \
        if getattr(actor, "pk", None) else None
    if view is None:
        raise NotFound(_("Saved view not found"))
    return view


def staff_directory(*, actor: Actor) -> QuerySet[User]:
    """Every staff account (active first, by name), for the people who manage them."""
    require(actor, AccountAction.USER_MANAGE)
    return (User.objects.select_related("team")
            .order_by("-is_active", "last_name", "first_name", "username"))


def team_list() -> QuerySet[Team]:
    return Team.objects.order_by("name")


def staff_member_get(*, actor: Actor, user_id: int) -> User:
    user = staff_directory(actor=actor).filter(pk=user_id).first()
    if user is None:
        raise NotFound(_("Staff member not found"))
    return user
