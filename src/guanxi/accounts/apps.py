from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "guanxi.accounts"
    verbose_name = _("Staff accounts")

    def ready(self) -> None:
        from guanxi.accounts.permissions import register_accounts_actions

        register_accounts_actions()
