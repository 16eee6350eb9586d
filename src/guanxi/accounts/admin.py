from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from guanxi.accounts.models import ApiToken, RolePolicy, Team, User
from guanxi.accounts.permissions import AccountAction
from guanxi.accounts.services import role_policy_set, sign_in_unlock, user_set_role
from guanxi.accounts.twofactor import two_factor_remove
from guanxi.audit.services import log_action
from guanxi.core.adminsite import RoleAdmin


@admin.register(User)
class GuanxiUserAdmin(RoleAdmin, UserAdmin):
    change_action = AccountAction.USER_MANAGE
    list_display = ("username", "email", "role", "team", "is_active")
    list_filter = ("role", "team", "is_active")
    fieldsets = (*(UserAdmin.fieldsets or ()), ("Guanxi", {"fields": ("role", "team")}))
    add_fieldsets = (*UserAdmin.add_fieldsets, ("Guanxi", {"fields": ("role", "team")}))
    actions = ["unlock_sign_in", "reset_two_factor"]

    @admin.action(description=_("Unlock sign-in after failed attempts"))
    def unlock_sign_in(self, request, queryset):
        for user in queryset:
            sign_in_unlock(actor=request.user, username=user.get_username())
        self.message_user(request, _("Unlocked."), messages.SUCCESS)

    @admin.action(description=_("Reset two-factor sign-in (lost phone)"))
    def reset_two_factor(self, request, queryset):
        for user in queryset:
            two_factor_remove(actor=request.user, user=user)
        self.message_user(request, _("Two-factor sign-in was reset; the users set it up again "
                                     "at their next sign-in if their role requires it."),
                          messages.SUCCESS)

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


@admin.register(RolePolicy)
class RolePolicyAdmin(RoleAdmin):
    change_action = AccountAction.USER_MANAGE
    list_display = ("role", "require_two_factor")

    def save_model(self, request, obj, form, change):
        """Through role_policy_set, so the change is audited."""
        policy = role_policy_set(actor=request.user, role=obj.role,
                                 require_two_factor=obj.require_two_factor)
        obj.pk = policy.pk

    def has_delete_permission(self, request, obj=None):
        return False


class _ReadOnly(RoleAdmin):
    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AccessAttempt)
class LockoutAdmin(_ReadOnly):
    """Usernames and addresses with failed sign-ins; select and unlock."""

    list_display = ("username", "ip_address", "failures_since_start", "attempt_time")
    search_fields = ("username", "ip_address")
    fields = ("username", "ip_address", "user_agent", "failures_since_start", "attempt_time")
    actions = ["unlock"]

    @admin.action(description=_("Unlock"))
    def unlock(self, request, queryset):
        for attempt in queryset:
            sign_in_unlock(actor=request.user, username=attempt.username or "",
                           ip_address=attempt.ip_address or "")
        self.message_user(request, _("Unlocked."), messages.SUCCESS)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_change_permission(self, request, obj=None):
        # Actions need change permission; unlocking is USER_MANAGE.
        return self._may_view(request)


@admin.register(AccessLog)
class SignInLogAdmin(_ReadOnly):
    list_display = ("username", "attempt_time", "logout_time", "ip_address", "user_agent")
    list_filter = ("attempt_time",)
    search_fields = ("username", "ip_address")
    fields = list_display


@admin.register(AccessFailureLog)
class SignInFailureAdmin(_ReadOnly):
    list_display = ("username", "attempt_time", "ip_address", "locked_out", "user_agent")
    list_filter = ("locked_out", "attempt_time")
    search_fields = ("username", "ip_address")
    fields = list_display
