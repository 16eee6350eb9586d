"""What the integrations app lets roles do, registered in its AppConfig.ready()."""

from __future__ import annotations

from enum import StrEnum

from django.utils.translation import gettext_lazy as _

from guanxi.core.permissions import Role, register_actions


class IntegrationAction(StrEnum):
    MANAGE = "integrations.manage"


def register_integration_actions() -> None:
    register_actions(IntegrationAction, {
        IntegrationAction.MANAGE: _("Manage webhooks (data leaves Guanxi through them)"),
    }, {IntegrationAction.MANAGE: (Role.MANAGER,)}, app="integrations")
