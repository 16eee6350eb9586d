"""What the service desk lets roles do, registered in its AppConfig.ready()."""

from __future__ import annotations

from enum import StrEnum

from django.utils.translation import gettext_lazy as _

from guanxi.core.permissions import Role, register_actions


class DeskAction(StrEnum):
    VIEW = "servicedesk.view"
    WORK = "servicedesk.work"
    KB = "servicedesk.kb"
    MANAGE = "servicedesk.manage"


def register_desk_actions() -> None:
    a = DeskAction
    register_actions(a, {
        a.VIEW: _("See tickets, survey results and the knowledge base"),
        a.WORK: _("Open, answer, assign, merge and solve tickets"),
        a.KB: _("Write and publish knowledge-base articles"),
        a.MANAGE: _("Set up queues, SLA policies, macros, surveys and the business calendar"),
    }, {
        a.VIEW: (Role.MANAGER, Role.SERVICE, Role.SALES, Role.ANALYST),
        a.WORK: (Role.MANAGER, Role.SERVICE),
        a.KB: (Role.MANAGER, Role.SERVICE),
        a.MANAGE: (Role.MANAGER,),
    }, app="servicedesk")
