from django.urls import path

from guanxi.customers import views

app_name = "customers"

urlpatterns = [
    path("", views.customer_list, name="list"),
    path("export.csv", views.customer_export, name="export"),
    path("new/", views.customer_create, name="create"),
    path("<int:pk>/", views.customer_detail, name="detail"),
    path("<int:pk>/edit/", views.customer_edit, name="edit"),
    path("<int:pk>/timeline/", views.customer_timeline, name="timeline"),
    path("<int:pk>/interactions/", views.customer_interaction, name="interaction"),
    path("<int:pk>/tags/", views.customer_tag_add, name="tag_add"),
    path("<int:pk>/tags/remove/", views.customer_tag_remove, name="tag_remove"),
    path("<int:pk>/consents/", views.customer_consent, name="consent"),
]
