from django.urls import path

from guanxi.servicedesk import views

app_name = "servicedesk"

urlpatterns = [
    path("", views.ticket_list, name="tickets"),
    path("new", views.ticket_new, name="ticket_new"),
    path("<int:pk>/", views.ticket_detail, name="ticket"),
    path("<int:pk>/act", views.ticket_act, name="ticket_act"),
    path("files/<int:pk>", views.attachment, name="attachment"),
    path("sla/", views.sla_report, name="sla_report"),
    path("kb/", views.article_list, name="articles"),
    path("kb/new", views.article_edit, name="article_new"),
    path("kb/<int:pk>/", views.article_edit, name="article_edit"),
    path("kb/<int:pk>/archive", views.article_archive, name="article_archive"),
    path("bot/", views.bot_log, name="bot_log"),
    path("surveys/", views.survey_list, name="surveys"),
    path("surveys/<int:pk>/", views.survey_detail, name="survey"),
    path("settings/", views.desk_settings, name="settings"),
]

# What customers reach without an account: the help centre, the web form, the portal and
# survey pages (signed links), and the WeChat callback.
public = [
    path("help/", views.help_centre, name="help"),
    path("help/a/<int:pk>", views.help_article, name="help_article"),
    path("help/new", views.help_form, name="help_form"),
    path("help/suggest", views.help_suggest, name="help_suggest"),
    path("help/t/<str:token>", views.portal, name="help_portal"),
    path("help/s/<str:token>", views.survey_page, name="help_survey"),
    path("help/wechat", views.wechat_callback, name="help_wechat"),
]
