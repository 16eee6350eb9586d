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
