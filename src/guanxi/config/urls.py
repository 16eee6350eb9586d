from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from guanxi.config.api import api
from guanxi.engagement.urls import public as message_links
from guanxi.integrations.views import hook
from guanxi.loyalty.urls import public as member_pages
from guanxi.servicedesk.urls import public as help_pages
from guanxi.web import views as web_views

admin.autodiscover()  # each app's admin module (see core/adminapps.py)

urlpatterns = [
    path("", web_views.home, name="home"),
    path("healthz", web_views.healthz, name="healthz"),
    path("search/", web_views.search, name="search"),
    path("settings/", web_views.settings_page, name="settings"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", include("guanxi.accounts.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("customers/", include("guanxi.customers.urls")),
    path("quality/", include("guanxi.dataquality.urls")),
    path("analytics/", include("guanxi.analytics.urls")),
    path("automations/", include("guanxi.automation.urls")),
    path("messages/", include("guanxi.engagement.urls")),
    *message_links,
    # email services' delivery, bounce, complaint, open and click webhooks (django-anymail;
    # engagement.inbound maps them to messages and the timeline)
    path("anymail/", include("anymail.urls")),
    path("desk/", include("guanxi.servicedesk.urls")),
    *help_pages,
    path("loyalty/", include("guanxi.loyalty.urls")),
    *member_pages,
    path("integrations/", include("guanxi.integrations.urls")),
    path("hooks/<slug:slug>", hook, name="inbound_hook"),
    path("privacy/", include("guanxi.privacy.urls")),
    path("audit/", include("guanxi.audit.urls")),
    path("api/v1/", api.urls),
    path("api/docs", RedirectView.as_view(url="/api/v1/docs", permanent=False)),
    path("admin/", admin.site.urls),
]

handler400 = "guanxi.web.views.bad_request"
handler403 = "guanxi.web.views.permission_denied"
handler404 = "guanxi.web.views.page_not_found"
handler500 = "guanxi.web.views.server_error"
