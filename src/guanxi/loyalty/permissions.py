"""What loyalty lets roles do, registered in its AppConfig.ready()."""

from __future__ import annotations

from enum import StrEnum

from django.utils.translation import gettext_lazy as _

from guanxi.core.permissions import Role, register_actions


class LoyaltyAction(StrEnum):
    VIEW = "loyalty.view"
    WORK = "loyalty.work"
    ADJUST = "loyalty.adjust"
    MANAGE = "loyalty.manage"


def register_loyalty_actions() -> None:
    a = LoyaltyAction
    register_actions(a, {
        a.VIEW: _("See members, points, coupons and the programme dashboard"),
        a.WORK: _("Redeem points and rewards, issue and redeem coupons"),
        a.ADJUST: _("Adjust points by hand and approve large adjustments"),
        a.MANAGE: _("Set up the programme: tiers, earn rules, rewards and coupon templates"),
    }, {
        a.VIEW: (Role.MANAGER, Role.SERVICE, Role.SALES, Role.MARKETING, Role.ANALYST),
        a.WORK: (Role.MANAGER, Role.SERVICE, Role.SALES, Role.MARKETING),
        a.ADJUST: (Role.MANAGER,),
        a.MANAGE: (Role.MANAGER,),
    }, app="loyalty")
