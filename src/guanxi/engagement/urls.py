from django.urls import path

from guanxi.engagement import views

app_name = "engagement"

urlpatterns = [
    path("", views.message_list, name="messages"),
    path("templates/", views.template_list, name="templates"),
    path("templates/new", views.template_edit, name="template_new"),
    path("templates/<int:pk>/", views.template_edit, name="template"),
    path("templates/<int:pk>/archive", views.template_archive, name="template_archive"),
    path("templates/<int:pk>/preview", views.template_preview, name="template_preview"),
    path("send/<int:customer_id>", views.send, name="send"),
    path("settings/", views.settings_page, name="settings"),
    path("campaigns/", views.campaign_list, name="campaigns"),
    path("campaigns/new", views.campaign_edit, name="campaign_new"),
    path("campaigns/<int:pk>/", views.campaign_detail, name="campaign"),
    path("campaigns/<int:pk>/edit", views.campaign_edit, name="campaign_edit"),
    path("campaigns/<int:pk>/launch", views.campaign_launch, name="campaign_launch"),
    path("campaigns/<int:pk>/cancel", views.campaign_cancel, name="campaign_cancel"),
    path("automations/", views.automation_report, name="automation_report"),
    path("suppressions/<int:pk>/remove", views.suppression_remove, name="suppression_remove"),
]

# Links inside messages, followed by customers without signing in (config/urls.py).
public = [
    path("m/c/<str:token>", views.click, name="message_click"),
    path("m/o/<str:token>.gif", views.open_pixel, name="message_open"),
    path("m/u/<str:token>", views.unsubscribe, name="message_unsubscribe"),
    path("m/sms/<str:token>/<str:what>", views.sms_callback, name="sms_callback"),
]
