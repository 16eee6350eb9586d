from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "guanxi.core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from guanxi.core.watchdog import register_check
        from guanxi.core.work import work_wake_if_due

        register_check(work_wake_if_due)
