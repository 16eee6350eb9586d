from django.contrib import admin
from django.db import transaction

from guanxi.audit.services import log_action
from guanxi.core.adminsite import RoleAdmin
from guanxi.core.permissions import Action
from guanxi.dataquality.models import ImportJob, ImportPreset, TagRule


@admin.register(TagRule)
class TagRuleAdmin(RoleAdmin):
    """Saving or deleting a rule re-tags every customer in the worker, and is audited."""

    view_action = change_action = Action.DATA_IMPORT
    list_display = ("tag", "attribute", "operator", "value", "active")
    list_filter = ("active", "operator")
    search_fields = ("tag", "attribute", "value")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        log_action(actor=request.user, action="tagrule.save", obj=obj,
                   changes={k: [None, form.cleaned_data.get(k)] for k in form.changed_data})
        self._refresh()

    def delete_model(self, request, obj):
        log_action(actor=request.user, action="tagrule.delete", obj=obj)
        super().delete_model(request, obj)
        self._refresh()

    @staticmethod
    def _refresh() -> None:
        from guanxi.dataquality.tasks import autotags_refresh_task

        transaction.on_commit(autotags_refresh_task)


@admin.register(ImportPreset)
class ImportPresetAdmin(RoleAdmin):
    view_action = change_action = Action.DATA_IMPORT
    list_display = ("name", "kind", "created_by", "created_at")


@admin.register(ImportJob)
class ImportJobAdmin(RoleAdmin):
    """Read-only: imports are run from the Import page, the CLI or the API."""

    view_action = Action.DATA_IMPORT

    list_display = ("original_name", "kind", "status", "rows_done", "created", "updated",
                    "failed", "created_by", "created_at")
    list_filter = ("status", "kind")
