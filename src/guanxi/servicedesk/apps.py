from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ServiceDeskConfig(AppConfig):
    name = "guanxi.servicedesk"
    label = "servicedesk"
    verbose_name = _("Service desk")

    def ready(self) -> None:
        from guanxi.servicedesk.registrations import register_servicedesk

        register_servicedesk()
