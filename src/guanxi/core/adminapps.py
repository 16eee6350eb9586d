"""The admin app with Guanxi's site (no models imported here: INSTALLED_APPS loads it
before the app registry is ready)."""

from django.contrib.admin.apps import AdminConfig


class GuanxiAdminConfig(AdminConfig):
    default_site = "guanxi.core.adminsite.GuanxiAdminSite"
