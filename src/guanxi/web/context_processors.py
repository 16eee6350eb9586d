from __future__ import annotations

from django.http import HttpRequest

from guanxi.core.permissions import Action, can, effective_role


def navigation(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    return {
        "role": effective_role(user),
        "can_create_customer": can(user, Action.CUSTOMER_CREATE),
        "can_export": can(user, Action.CUSTOMER_EXPORT),
        "can_import": can(user, Action.DATA_IMPORT),
        "can_merge": can(user, Action.CUSTOMER_MERGE),
        "can_configure_scoring": can(user, Action.SCORING_CONFIGURE),
    }
