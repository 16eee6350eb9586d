"""Roles and what each may do. Deny by default: an action not listed is refused."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.db import models
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from guanxi.accounts.models import User


class Role(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    MANAGER = "manager", _("Manager")
    SALES = "sales", _("Sales")
    SERVICE = "service", _("Service")
    MARKETING = "marketing", _("Marketing")
    ANALYST = "analyst", _("Analyst")


class Action(StrEnum):
    CUSTOMER_VIEW = "customer.view"
    CUSTOMER_CREATE = "customer.create"
    CUSTOMER_CHANGE = "customer.change"
    CUSTOMER_DELETE = "customer.delete"
    CUSTOMER_EXPORT = "customer.export"
    CUSTOMER_MERGE = "customer.merge"
    DATA_IMPORT = "data.import"
    SEGMENT_MANAGE = "segment.manage"
    SCORING_CONFIGURE = "scoring.configure"
    IDENTITY_CHANGE = "identity.change"
    CONSENT_CHANGE = "consent.change"
    TAG_ASSIGN = "tag.assign"
    ORDER_CREATE = "order.create"
    EVENT_CREATE = "event.create"
    INTERACTION_LOG = "interaction.log"
    AUDIT_VIEW = "audit.view"
    USER_MANAGE = "user.manage"


_A = Action
ROLE_ACTIONS: dict[str, frozenset[Action]] = {
    Role.ADMIN: frozenset(Action),
    Role.MANAGER: frozenset(set(Action) - {_A.USER_MANAGE}),
    Role.SALES: frozenset({
        _A.CUSTOMER_VIEW, _A.CUSTOMER_CREATE, _A.CUSTOMER_CHANGE, _A.IDENTITY_CHANGE,
        _A.CONSENT_CHANGE, _A.TAG_ASSIGN, _A.ORDER_CREATE, _A.EVENT_CREATE, _A.INTERACTION_LOG,
    }),
    Role.SERVICE: frozenset({
        _A.CUSTOMER_VIEW, _A.CUSTOMER_CHANGE, _A.IDENTITY_CHANGE, _A.CONSENT_CHANGE,
        _A.TAG_ASSIGN, _A.EVENT_CREATE, _A.INTERACTION_LOG,
    }),
    Role.MARKETING: frozenset({
        _A.CUSTOMER_VIEW, _A.CUSTOMER_EXPORT, _A.TAG_ASSIGN, _A.CONSENT_CHANGE,
        _A.SEGMENT_MANAGE,
    }),
    Role.ANALYST: frozenset({_A.CUSTOMER_VIEW, _A.CUSTOMER_EXPORT, _A.SEGMENT_MANAGE}),
}

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


def can(user: User | Any, action: Action) -> bool:
    role = effective_role(user)
    return role is not None and action in ROLE_ACTIONS.get(role, frozenset())


def require(user: User | Any, action: Action) -> None:
    if not can(user, action):
        raise PermissionDenied(f"{action} is not allowed for this account")


def is_team_scoped(user: User | Any) -> bool:
    return effective_role(user) in TEAM_SCOPED_ROLES


def sees_masked(user: User | Any) -> bool:
    return effective_role(user) in MASKED_ROLES
