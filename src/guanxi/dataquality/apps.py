from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DataQualityConfig(AppConfig):
    name = "guanxi.dataquality"
    label = "dataquality"
    verbose_name = _("Data quality")

    def ready(self) -> None:
        from guanxi.customers.hooks import register_after_change
        from guanxi.dataquality.autotags import autotags_apply, autotags_apply_many

        register_after_change(autotags_apply, many=autotags_apply_many)
