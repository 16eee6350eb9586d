"""What the accounts app lets roles do, registered in its AppConfig.ready()."""

from __future__ import annotations

from enum import StrEnum

from django.utils.translation import gettext_lazy as _

from guanxi.core.permissions import register_actions


class AccountAction(StrEnum):
    USER_MANAGE = "user.manage"


def register_accounts_actions() -> None:
    a = AccountAction
    register_actions(a, {
        a.USER_MANAGE: _("Manage staff accounts"),
    }, {
        a.USER_MANAGE: (),
    }, app="accounts")
