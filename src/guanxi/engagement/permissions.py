"""What the engagement app lets roles do, registered in its AppConfig.ready()."""

from __future__ import annotations

from enum import StrEnum

from django.utils.translation import gettext_lazy as _

from guanxi.core.permissions import Role, register_actions


class EngagementAction(StrEnum):
    VIEW = "engagement.view"
    SEND = "engagement.send"
    MANAGE = "engagement.manage"
    SETUP = "engagement.setup"


def register_engagement_actions() -> None:
    a = EngagementAction
    register_actions(a, {
        a.VIEW: _("See messages, templates, campaigns and their results"),
        a.SEND: _("Send a message to a customer they can see"),
        a.MANAGE: _("Write templates, run campaigns, put messages in automations"),
        a.SETUP: _("Set up channels, the send policy and the suppression list"),
    }, {
        a.VIEW: (Role.MANAGER, Role.MARKETING, Role.ANALYST, Role.SALES, Role.SERVICE),
        a.SEND: (Role.MANAGER, Role.MARKETING, Role.SALES, Role.SERVICE),
        a.MANAGE: (Role.MANAGER, Role.MARKETING),
        a.SETUP: (Role.MANAGER,),
    }, app="engagement")
