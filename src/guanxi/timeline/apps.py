from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TimelineConfig(AppConfig):
    name = "guanxi.timeline"
    label = "timeline"
    verbose_name = _("Timeline")

    def ready(self) -> None:
        from guanxi.timeline.kinds import register_core_kinds

        register_core_kinds()
