from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EngagementConfig(AppConfig):
    name = "guanxi.engagement"
    label = "engagement"
    verbose_name = _("Engagement")

    def ready(self) -> None:
        from guanxi.engagement.registrations import register_engagement

        register_engagement()
