from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from guanxi.accounts.models import ApiToken, Team, User
from guanxi.accounts.permissions import AccountAction
from guanxi.accounts.services import user_set_role
from guanxi.audit.services import log_action
from guanxi.core.adminsite import RoleAdmin


@admin.register(User)
class GuanxiUserAdmin(RoleAdmin, UserAdmin):
    change_action = AccountAction.USER_MANAGE
    list_display = ("username", "email", "role", "team", "is_active")
    list_filter = ("role", "team", "is_active")
    fieldsets = (*(UserAdmin.fieldsets or ()), ("Guanxi", {"fields": ("role", "team")}))
    add_fieldsets = (*UserAdmin.add_fieldsets, ("Guanxi", {"fields": ("role", "team")}))

    def save_model(self, request, obj, form, change):
        """Role and team changes go through user_set_role, so they are audited."""
        if not change:
            super().save_model(request, obj, form, change)
            log_action(actor=request.user, action="user.create", obj=obj,
                       changes={"role": [None, obj.role],
                                "team": [None, obj.team.name if obj.team else None]})
            return
        role, team = obj.role, obj.team
        if {"role", "team"} & set(form.changed_data):
            stored = User.objects.get(pk=obj.pk)
            obj.role, obj.team = stored.role, stored.team
            super().save_model(request, obj, form, change)
            user_set_role(actor=request.user, user=obj, role=role, team=team)
        else:
            super().save_model(request, obj, form, change)


@admin.register(Team)
class TeamAdmin(RoleAdmin):
    change_action = AccountAction.USER_MANAGE
    list_display = ("name",)


@admin.register(ApiToken)
class ApiTokenAdmin(RoleAdmin):
    change_action = AccountAction.USER_MANAGE
    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "key_hash", "created_at", "last_used_at")
