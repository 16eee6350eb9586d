from django.urls import path

from guanxi.customers import views, views_settings

app_name = "customers"

urlpatterns = [
    path("", views.customer_list, name="list"),
    path("export.csv", views.customer_export, name="export"),
    path("new/", views.customer_create, name="create"),
    path("views/", views.customer_view_save, name="view_save"),
    path("views/<int:view_id>/", views.customer_view_open, name="view_open"),
    path("views/<int:view_id>/delete/", views.customer_view_delete, name="view_delete"),
    path("bulk/", views.customer_bulk, name="bulk"),
    path("products/", views_settings.product_page, name="products"),
    path("products/save/", views_settings.product_save, name="product_save"),
    path("companies/", views_settings.company_list_page, name="companies"),
    path("companies/<int:company_id>/", views_settings.company_page, name="company"),
    path("companies/<int:company_id>/save/", views_settings.company_save,
         name="company_save"),
    path("bulk/<int:item_id>/", views.customer_bulk_status, name="bulk_status"),
    path("<int:pk>/", views.customer_detail, name="detail"),
    path("<int:pk>/edit/", views.customer_edit, name="edit"),
    path("<int:pk>/timeline/", views.customer_timeline, name="timeline"),
    path("<int:pk>/interactions/", views.customer_interaction, name="interaction"),
    path("<int:pk>/tags/", views.customer_tag_add, name="tag_add"),
    path("<int:pk>/tags/remove/", views.customer_tag_remove, name="tag_remove"),
    path("<int:pk>/consents/", views.customer_consent, name="consent"),
    path("<int:pk>/contacts/", views.customer_contact_add, name="contact_add"),
    path("<int:pk>/contacts/<int:identity_id>/", views.customer_contact_change,
         name="contact_change"),
    path("<int:pk>/contacts/<int:identity_id>/remove/", views.customer_contact_remove,
         name="contact_remove"),
    path("<int:pk>/addresses/", views.customer_address_add, name="address_add"),
    path("<int:pk>/addresses/<int:address_id>/remove/", views.customer_address_remove,
         name="address_remove"),
    path("<int:pk>/follow-ups/<int:follow_up_id>/done/", views.customer_follow_up_done,
         name="follow_up_done"),
]
