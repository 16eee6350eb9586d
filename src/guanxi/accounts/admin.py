from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from guanxi.accounts.models import ApiToken, Team, User


@admin.register(User)
class GuanxiUserAdmin(UserAdmin):
    list_display = ("username", "email", "role", "team", "is_active")
    list_filter = ("role", "team", "is_active")
    fieldsets = (*UserAdmin.fieldsets, ("Guanxi", {"fields": ("role", "team")}))
    readonly_fields = ("role", "team")  # role changes go through user_set_role so they are audited


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name",)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "key_hash", "created_at", "last_used_at")
