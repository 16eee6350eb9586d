from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    name = "guanxi.integrations"
    label = "integrations"
    verbose_name = _("Integrations")

    def ready(self) -> None:
        from guanxi.integrations.registrations import register_integrations

        register_integrations()
