from django.urls import path

from guanxi.analytics import views

app_name = "analytics"

urlpatterns = [
    path("scores.csv", views.scores_csv, name="scores_csv"),
]
