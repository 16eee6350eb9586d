"""Roles and what each may do: the registry of actions. Each app registers its actions
and the roles granted them in AppConfig.ready(); deny by default: an action nobody
registered, or not granted to the role, is refused."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeAlias, TypeGuard, cast

from django.core.exceptions import PermissionDenied
from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from guanxi.accounts.models import User

# Who does something: a signed-in staff member (or API token's user), an anonymous
# visitor (refused by every check), or None for Guanxi itself (system jobs).
Actor: TypeAlias = "User | AnonymousUser | None"


class Role(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    MANAGER = "manager", _("Manager")
    SALES = "sales", _("Sales")
    SERVICE = "service", _("Service")
    MARKETING = "marketing", _("Marketing")
    ANALYST = "analyst", _("Analyst")


@dataclass(frozen=True)
class ActionSpec:
    """One thing a role may be allowed to do: its code ("app.verb"), its label, the
    roles granted it (an administrator is granted every registered action) and the app
    that registered it."""

    code: str
    label: str | Promise
    roles: frozenset[str]
    app: str


_ACTIONS: dict[str, ActionSpec] = {}


def register_action(code: str, label: str | Promise, *, roles: Iterable[str],
                    app: str) -> str:
    """Declare an action and the roles granted it (apps do this in AppConfig.ready());
    returns the code. An action nobody registered is refused to everyone."""
    existing = _ACTIONS.get(code)
    if existing is not None and existing.app != app:
        raise ValueError(f"action {code!r} is already registered by {existing.app!r}")
    _ACTIONS[code] = ActionSpec(code, label, frozenset(roles) | {Role.ADMIN}, app)
    return code


def register_actions(actions: type[StrEnum], labels: Mapping[str, str | Promise],
                     grants: Mapping[str, Iterable[str]], *, app: str) -> None:
    """Register an app's action enum at once: `grants` maps each action to its roles."""
    for action in actions:
        register_action(action.value, labels[action], roles=grants.get(action, ()), app=app)


def registered_actions() -> list[ActionSpec]:
    return sorted(_ACTIONS.values(), key=lambda a: a.code)


def roles_granted(action: str) -> frozenset[str]:
    """The roles granted `action` (none if nobody registered it)."""
    spec = _ACTIONS.get(action)
    return spec.roles if spec is not None else frozenset()


def role_actions(role: str | None) -> frozenset[str]:
    """The codes of the actions `role` is granted."""
    if role is None:
        return frozenset()
    return frozenset(code for code, spec in _ACTIONS.items() if role in spec.roles)


# Roles that see only the customers they or their team own.
TEAM_SCOPED_ROLES = frozenset({Role.SALES})
# Roles that see personal data masked.
MASKED_ROLES = frozenset({Role.ANALYST})


def effective_role(user: User | Any) -> str | None:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if user.is_superuser:
        return Role.ADMIN
    return user.role or None


def can(user: User | Any, action: str) -> bool:
    role = effective_role(user)
    spec = _ACTIONS.get(action)
    return role is not None and spec is not None and role in spec.roles


def require(user: User | Any, action: str) -> None:
    if not can(user, action):
        raise PermissionDenied(f"{action} is not allowed for this account")


def is_team_scoped(user: User | Any) -> TypeGuard[User]:
    return effective_role(user) in TEAM_SCOPED_ROLES


def staff(actor: Actor) -> User | None:
    """The staff account behind `actor`, for "created by" columns: None for Guanxi itself
    and for anyone not signed in."""
    return cast("User", actor) if getattr(actor, "pk", None) else None


def sees_masked(user: User | Any) -> bool:
    return effective_role(user) in MASKED_ROLES
