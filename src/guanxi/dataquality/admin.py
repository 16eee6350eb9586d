from django.contrib import admin

from guanxi.core.adminsite import RoleAdmin
from guanxi.dataquality import services
from guanxi.dataquality.models import ImportJob, ImportPreset, TagRule
from guanxi.dataquality.permissions import DataAction


@admin.register(TagRule)
class TagRuleAdmin(RoleAdmin):
    """Saving or deleting a rule re-tags every customer in the worker, and is audited."""

    view_action = change_action = DataAction.DATA_IMPORT
    list_display = ("tag", "attribute", "operator", "value", "active")
    list_filter = ("active", "operator")
    search_fields = ("tag", "attribute", "value")

    def save_model(self, request, obj, form, change):
        services.tag_rule_save(actor=request.user, rule=obj)

    def delete_model(self, request, obj):
        services.tag_rule_delete(actor=request.user, rule=obj)

    def delete_queryset(self, request, queryset):
        for rule in queryset:
            services.tag_rule_delete(actor=request.user, rule=rule)


@admin.register(ImportPreset)
class ImportPresetAdmin(RoleAdmin):
    view_action = change_action = DataAction.DATA_IMPORT
    list_display = ("name", "kind", "created_by", "created_at")


@admin.register(ImportJob)
class ImportJobAdmin(RoleAdmin):
    """Read-only: imports are run from the Import page, the CLI or the API."""

    view_action = DataAction.DATA_IMPORT

    list_display = ("original_name", "kind", "status", "rows_done", "created", "updated",
                    "failed", "created_by", "created_at")
    list_filter = ("status", "kind")
