from __future__ import annotations

from django.http import HttpRequest

from guanxi.analytics.permissions import AnalyticsAction
from guanxi.core.permissions import can, effective_role
from guanxi.customers.permissions import CustomerAction
from guanxi.dataquality.permissions import DataAction


def navigation(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    return {
        "role": effective_role(user),
        "can_create_customer": can(user, CustomerAction.CUSTOMER_CREATE),
        "can_export": can(user, CustomerAction.CUSTOMER_EXPORT),
        "can_import": can(user, DataAction.DATA_IMPORT),
        "can_merge": can(user, DataAction.CUSTOMER_MERGE),
        "can_configure_scoring": can(user, AnalyticsAction.SCORING_CONFIGURE),
    }
