from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrivacyConfig(AppConfig):
    name = "guanxi.privacy"
    label = "privacy"
    verbose_name = _("Privacy")

    def ready(self) -> None:
        from guanxi.core.shell import NavEntry, register_nav
        from guanxi.privacy.permissions import PrivacyAction, register_privacy_actions

        register_privacy_actions()
        from guanxi.privacy.services import register_privacy_retention

        register_privacy_retention()
        register_nav(NavEntry("privacy", _("Privacy"), "privacy:records",
                              PrivacyAction.RECORDS_VIEW, 80, icon="shield-lock"))
        from guanxi.customers.extensions import Panel, register_panel

        register_panel(Panel("privacy_actions", "privacy/_customer_actions.html",
                             _privacy_panel, place="header", order=90))


def _privacy_panel(actor, customer_id: int) -> dict | None:
    """The 360 header's link to the person's data (copy or erase, under PIPL), for those
    who answer personal-data requests."""
    from guanxi.core.permissions import can
    from guanxi.privacy.permissions import PrivacyAction

    return {"customer_id": customer_id} if can(actor, PrivacyAction.REQUESTS) else None
