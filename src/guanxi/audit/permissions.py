"""What the audit app lets roles do, registered in its AppConfig.ready()."""

from __future__ import annotations

from enum import StrEnum

from django.utils.translation import gettext_lazy as _

from guanxi.core.permissions import Role, register_actions


class AuditAction(StrEnum):
    AUDIT_VIEW = "audit.view"


def register_audit_actions() -> None:
    a = AuditAction
    register_actions(a, {
        a.AUDIT_VIEW: _("Read the audit log"),
    }, {
        a.AUDIT_VIEW: (Role.MANAGER,),
    }, app="audit")
