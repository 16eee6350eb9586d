"""The admin app with Guanxi's site (no models imported here: INSTALLED_APPS loads it
before the app registry is ready).

SimpleAdminConfig: the apps' admin modules (which import every app's services) are
discovered when the URLconf is first loaded (config/urls.py) or the system checks run,
not at every start of the `guanxi` command."""

from typing import Any

from django.contrib.admin.apps import SimpleAdminConfig
from django.core import checks


def _check_admin(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    """Django's admin checks, after the admin modules are loaded."""
    from django.contrib.admin import autodiscover
    from django.contrib.admin.checks import check_admin_app

    autodiscover()
    return check_admin_app(app_configs, **kwargs)  # type: ignore[no-any-return]


class GuanxiAdminConfig(SimpleAdminConfig):
    default_site = "guanxi.core.adminsite.GuanxiAdminSite"

    def ready(self) -> None:
        from django.contrib.admin.checks import check_dependencies

        checks.register(check_dependencies, checks.Tags.admin)
        checks.register(_check_admin, checks.Tags.admin)
