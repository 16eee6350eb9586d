"""What the privacy app lets roles do: handling people's requests about their data is the
privacy officer's job, which administrators hold."""

from __future__ import annotations

from enum import StrEnum

from django.utils.translation import gettext_lazy as _

from guanxi.core.permissions import Role, register_actions


class PrivacyAction(StrEnum):
    REQUESTS = "privacy.requests"
    RECORDS_VIEW = "privacy.records_view"


def register_privacy_actions() -> None:
    a = PrivacyAction
    register_actions(a, {
        a.REQUESTS: _("Answer personal-data requests: copy and erase a person's data "
                      "(privacy officer)"),
        a.RECORDS_VIEW: _("Read the records of personal-data processing"),
    }, {
        a.REQUESTS: (),
        a.RECORDS_VIEW: (Role.MANAGER,),
    }, app="privacy")
