from __future__ import annotations

from django.db.models import QuerySet

from guanxi.accounts.models import User
from guanxi.core.errors import InvalidInput
from guanxi.core.permissions import Actor, is_team_scoped


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
