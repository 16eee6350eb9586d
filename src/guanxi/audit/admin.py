from django.contrib import admin

from guanxi.audit.models import AuditEntry
from guanxi.audit.permissions import AuditAction
from guanxi.core.adminsite import RoleAdmin


@admin.register(AuditEntry)
class AuditEntryAdmin(RoleAdmin):
    view_action = AuditAction.AUDIT_VIEW  # read-only: the log is append-only
    list_display = ("at", "actor_label", "action", "object_type", "object_id", "customer_id")
    list_filter = ("action", "object_type")
    search_fields = ("actor_label", "object_id")
