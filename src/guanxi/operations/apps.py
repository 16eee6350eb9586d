from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OperationsConfig(AppConfig):
    """Backups, verified restores and the nightly backup (above audit: each backup
    records itself in the audit log)."""

    name = "guanxi.operations"
    verbose_name = _("Operations")
