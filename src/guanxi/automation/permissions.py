"""What the automation app lets roles do, registered in its AppConfig.ready()."""

from __future__ import annotations

from enum import StrEnum

from django.utils.translation import gettext_lazy as _

from guanxi.core.permissions import Role, register_actions


class AutomationAction(StrEnum):
    VIEW = "automation.view"
    MANAGE = "automation.manage"


def register_automation_actions() -> None:
    a = AutomationAction
    register_actions(a, {
        a.VIEW: _("See automations and their runs"),
        a.MANAGE: _("Build, publish, pause and archive automations"),
    }, {
        a.VIEW: (Role.MANAGER, Role.MARKETING, Role.ANALYST),
        a.MANAGE: (Role.MANAGER, Role.MARKETING),
    }, app="automation")
