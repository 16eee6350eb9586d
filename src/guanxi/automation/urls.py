from django.urls import path

from guanxi.automation import views

app_name = "automation"

urlpatterns = [
    path("", views.automation_list, name="list"),
    path("new", views.automation_edit, name="new"),
    path("<int:pk>/", views.automation_detail, name="detail"),
    path("<int:pk>/edit", views.automation_edit, name="edit"),
    path("<int:pk>/test", views.automation_test, name="test"),
    *[path(f"<int:pk>/{verb}", views.automation_state, {"verb": verb}, name=verb)
      for verb in ("publish", "pause", "resume", "archive")],
]
