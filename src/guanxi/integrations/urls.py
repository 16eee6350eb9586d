from django.urls import path

from guanxi.integrations import views

app_name = "integrations"

urlpatterns = [
    path("webhooks/", views.webhooks, name="webhooks"),
    path("webhooks/<int:pk>/", views.endpoint, name="endpoint"),
    path("webhooks/<int:pk>/rotate", views.endpoint_rotate, name="rotate"),
    path("webhooks/<int:pk>/delete", views.endpoint_delete, name="delete"),
    path("deliveries/<int:pk>/replay", views.delivery_replay, name="replay"),
    path("sources/", views.sources, name="sources"),
]
