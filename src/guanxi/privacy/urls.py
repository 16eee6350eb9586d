from django.urls import path

from guanxi.privacy import views

app_name = "privacy"

urlpatterns = [
    path("", views.records, name="records"),
    path("people/<int:pk>/", views.person, name="person"),
    path("people/<int:pk>/export.<str:fmt>", views.export, name="export"),
    path("people/<int:pk>/erase/", views.erase, name="erase"),
]
