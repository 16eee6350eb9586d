"""What the analytics app lets roles do, registered in its AppConfig.ready()."""

from __future__ import annotations

from enum import StrEnum

from django.utils.translation import gettext_lazy as _

from guanxi.core.permissions import Role, register_actions


class AnalyticsAction(StrEnum):
    SEGMENT_MANAGE = "segment.manage"
    SCORING_CONFIGURE = "scoring.configure"


def register_analytics_actions() -> None:
    a = AnalyticsAction
    register_actions(a, {
        a.SEGMENT_MANAGE: _("Manage segments"),
        a.SCORING_CONFIGURE: _("Configure and run scoring"),
    }, {
        a.SEGMENT_MANAGE: (Role.MANAGER, Role.MARKETING, Role.ANALYST),
        a.SCORING_CONFIGURE: (Role.MANAGER,),
    }, app="analytics")
