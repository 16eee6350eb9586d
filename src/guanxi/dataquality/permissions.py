"""What the dataquality app lets roles do, registered in its AppConfig.ready()."""

from __future__ import annotations

from enum import StrEnum

from django.utils.translation import gettext_lazy as _

from guanxi.core.permissions import Role, register_actions


class DataAction(StrEnum):
    DATA_IMPORT = "data.import"
    CUSTOMER_MERGE = "customer.merge"


def register_dataquality_actions() -> None:
    a = DataAction
    register_actions(a, {
        a.DATA_IMPORT: _("Import data and manage tag rules"),
        a.CUSTOMER_MERGE: _("Merge duplicates"),
    }, {
        a.DATA_IMPORT: (Role.MANAGER,),
        a.CUSTOMER_MERGE: (Role.MANAGER,),
    }, app="dataquality")
