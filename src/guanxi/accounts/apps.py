from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "guanxi.accounts"
    verbose_name = _("Staff accounts")

    def ready(self) -> None:
        from guanxi.accounts.permissions import register_accounts_actions

        register_accounts_actions()
        from django.utils.translation import gettext_lazy

        from guanxi.accounts.permissions import AccountAction
        from guanxi.core.shell import NavEntry, register_settings_link

        register_settings_link(NavEntry("staff", gettext_lazy("Staff and teams"),
                                        "accounts:staff", AccountAction.USER_MANAGE, 10,
                                        icon="users-group"))
        from django.contrib.auth.signals import user_logged_in

        from guanxi.accounts.privacy import register_accounts_retention

        register_accounts_retention()
        user_logged_in.connect(_on_login, dispatch_uid="guanxi.accounts.session_started")


def _on_login(sender, request, user, **kwargs) -> None:
    from guanxi.accounts.middleware import TwoFactorMiddleware, session_started

    if request is not None and hasattr(request, "session"):
        session_started(request)
        # Decided once at sign-in (and again every few minutes): the first page after
        # signing in costs no extra queries.
        TwoFactorMiddleware.step(request, user)
