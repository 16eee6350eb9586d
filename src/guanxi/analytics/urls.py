from django.urls import path

from guanxi.analytics import views

app_name = "analytics"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("scores.csv", views.scores_export, name="scores_csv"),
    path("scores/export", views.scores_export, name="scores_export"),
    path("segments/", views.segment_list, name="segments"),
    path("segments/new", views.segment_edit, name="segment_new"),
    path("segments/count", views.segment_count, name="segment_count"),
    path("segments/<int:pk>/", views.segment_detail, name="segment"),
    path("segments/<int:pk>/edit", views.segment_edit, name="segment_edit"),
    path("segments/<int:pk>/refresh", views.segment_refresh, name="segment_refresh"),
    path("segments/<int:pk>/delete", views.segment_delete, name="segment_delete"),
    path("settings", views.scoring_settings, name="settings"),
    path("scoring/start", views.scoring_start, name="scoring_start"),
    path("scoring/progress", views.scoring_progress, name="scoring_progress"),
]
