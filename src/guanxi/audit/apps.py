from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "guanxi.audit"
    verbose_name = _("Audit")

    def ready(self) -> None:
        from guanxi.audit.permissions import register_audit_actions

        register_audit_actions()
        from guanxi.audit.privacy import register_audit_personal_data

        register_audit_personal_data()
        from guanxi.audit.permissions import AuditAction
        from guanxi.core.shell import NavEntry, register_nav

        register_nav(NavEntry("audit", _("Audit log"), "audit:log", AuditAction.AUDIT_VIEW, 85,
                              icon="list-search"))
