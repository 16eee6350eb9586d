from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AutomationConfig(AppConfig):
    name = "guanxi.automation"
    label = "automation"
    verbose_name = _("Automation")

    def ready(self) -> None:
        from guanxi.automation.registrations import register_automation

        register_automation()
