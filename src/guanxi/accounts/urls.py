from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from guanxi.accounts import views

app_name = "accounts"

urlpatterns = [
    path("security/", views.security, name="security"),
    path("staff/", views.staff_page, name="staff"),
    path("staff/invite/", views.staff_invite, name="staff_invite"),
    path("staff/<int:user_id>/role/", views.staff_role, name="staff_role"),
    path("staff/<int:user_id>/active/", views.staff_active, name="staff_active"),
    path("security/sessions/end/", views.sessions_end, name="sessions_end"),
    path("security/tokens/new/", views.token_new, name="token_new"),
    path("security/tokens/<int:pk>/revoke/", views.token_revoke_view, name="token_revoke"),
    path("password/", auth_views.PasswordChangeView.as_view(
        template_name="accounts/password_change.html",
        success_url=reverse_lazy("accounts:security")), name="password_change"),
    path("two-factor/setup/", views.two_factor_setup, name="two_factor_setup"),
    path("two-factor/verify/", views.two_factor_verify_view, name="two_factor_verify"),
    path("two-factor/remove/", views.two_factor_remove_view, name="two_factor_remove"),
    path("two-factor/recovery-codes/", views.recovery_codes, name="recovery_codes"),
]
