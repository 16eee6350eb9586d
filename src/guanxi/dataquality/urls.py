from django.urls import path

from guanxi.dataquality import views, views_settings

app_name = "dataquality"

urlpatterns = [
    path("imports/", views.import_list, name="imports"),
    path("tag-rules/", views_settings.tag_rules, name="tag_rules"),
    path("tag-rules/<int:rule_id>/", views_settings.tag_rules, name="tag_rule"),
    path("tag-rules/<int:rule_id>/delete/", views_settings.tag_rule_delete,
         name="tag_rule_delete"),
    path("imports/<int:pk>/", views.import_detail, name="import"),
    path("imports/<int:pk>/progress/", views.import_progress, name="import_progress"),
    path("imports/<int:pk>/resume/", views.import_resume, name="import_resume"),
    path("imports/<int:pk>/again/", views.import_again, name="import_again"),
    path("imports/<int:pk>/errors.csv", views.import_errors, name="import_errors"),
    path("duplicates/", views.duplicate_list, name="duplicates"),
    path("duplicates/find/", views.resolution_start, name="resolution_start"),
    path("duplicates/runs/<int:pk>/", views.resolution_progress, name="resolution_progress"),
    path("duplicates/<int:pk>/", views.duplicate_review, name="review"),
    path("merges/", views.merge_list, name="merges"),
    path("merges/<int:pk>/undo/", views.merge_undo, name="merge_undo"),
]
