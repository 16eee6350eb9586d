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
