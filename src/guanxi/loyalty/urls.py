from django.urls import path

from guanxi.loyalty import views

app_name = "loyalty"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("settings/", views.programme_settings, name="settings"),
    path("settings/<str:kind>/<int:pk>/delete", views.setup_delete, name="setup_delete"),
    path("coupons/<int:pk>/batch", views.coupon_batch, name="coupon_batch"),
    path("adjustments/<int:pk>", views.adjustment_decide, name="adjustment_decide"),
    path("draws/new", views.draw_new, name="draw_new"),
    path("customers/<int:customer_id>/", views.customer_loyalty, name="customer"),
    path("events/", views.events_page, name="events"),
    path("events/<int:pk>/", views.event_page, name="event"),
    path("check-in/<str:token>", views.check_in_page, name="check_in"),
    path("customers/<int:customer_id>/act", views.customer_act, name="customer_act"),
]

# What members reach without an account: their page, behind a signed link.
public = [
    path("member/<str:token>", views.member_page, name="loyalty_member_page"),
    path("r/<str:code>", views.referral_landing, name="loyalty_referral"),
    path("member/<str:token>/draw/<int:pk>", views.member_draw, name="loyalty_member_draw"),
    path("member/<str:token>/events/<int:pk>", views.member_event,
         name="loyalty_member_event"),
]
