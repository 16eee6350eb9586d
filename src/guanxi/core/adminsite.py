"""The administration site, checked against Guanxi's roles instead of Django's per-model
permissions: an administrator or manager who is not a superuser sees what their role
allows (docs/permissions.md), and nobody else gets in."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest

from guanxi.core.permissions import Role, can, effective_role

ADMIN_SITE_ROLES = frozenset({Role.ADMIN, Role.MANAGER})


class GuanxiAdminSite(admin.AdminSite):
    # Signing in is for active staff with a role; the role decides what they see.
    login_form = AuthenticationForm

    def has_permission(self, request: HttpRequest) -> bool:
        return effective_role(request.user) in ADMIN_SITE_ROLES


class RoleAdmin(admin.ModelAdmin):
    """A model page that the role's actions open: `view_action` to see it,
    `change_action` (None: read-only) to add, change and delete."""

    view_action: str | None = None  # None: administrators only
    change_action: str | None = None

    def _may_view(self, request: HttpRequest) -> bool:
        if self.view_action is None:
            return effective_role(request.user) == Role.ADMIN
        return can(request.user, self.view_action)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._may_view(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may_view(request)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return self.change_action is not None and can(request.user, self.change_action)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.change_action is not None and can(request.user, self.change_action)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.change_action is not None and can(request.user, self.change_action)
