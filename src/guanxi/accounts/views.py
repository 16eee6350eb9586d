"""The user's own security page: two-factor sign-in, sessions, password, API tokens and
sign-in history."""

from __future__ import annotations

from typing import cast

import django_otp
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from guanxi.accounts import twofactor
from guanxi.accounts.forms import CodeForm, TokenForm
from guanxi.accounts.models import ApiToken, User
from guanxi.accounts.selectors import (
    sign_in_history,
    staff_directory,
    staff_member_get,
    team_list,
    token_list,
    two_factor_required,
)
from guanxi.accounts.services import (
    sessions_end_others,
    team_get_or_create,
    token_create,
    token_revoke,
    user_invite,
    user_set_active,
    user_set_role,
)
from guanxi.core.errors import DomainError, InvalidInput
from guanxi.core.permissions import Role


def _me(request: HttpRequest) -> User:
    """The signed-in user (the views are login_required)."""
    return cast(User, request.user)


def _verified(user: User) -> bool:
    """Whether this session entered a second factor (set by django-otp's middleware)."""
    return bool(getattr(user, "is_verified", lambda: False)())


def _next(request: HttpRequest, default: str = "home") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return redirect(default).url


@login_required
def security(request: HttpRequest) -> HttpResponse:
    user = _me(request)
    return render(request, "accounts/security.html", {
        "two_factor": twofactor.has_two_factor(user),
        "two_factor_required": two_factor_required(user),
        "codes_left": twofactor.recovery_codes_left(user),
        "tokens": token_list(user=user),
        "token_form": TokenForm(),
        "history": sign_in_history(user=user, limit=30),
    })


@login_required
@require_POST
def sessions_end(request: HttpRequest) -> HttpResponse:
    user = sessions_end_others(user=_me(request))
    update_session_auth_hash(request, user)
    messages.success(request, _("You were signed out of all your other sessions."))
    return redirect("accounts:security")


@login_required
@require_POST
def token_new(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST)
    secret = None
    if form.is_valid():
        try:
            _token, secret = token_create(actor=_me(request), user=_me(request),
                                          name=form.cleaned_data["name"],
                                          scopes=form.cleaned_data["scopes"],
                                          days=form.cleaned_data["days"])
        except InvalidInput as exc:
            for error in exc.errors:
                form.add_error(error.field if error.field in form.fields else None,
                               error.message)
    if secret is None:
        return render(request, "accounts/token_new.html", {"form": form}, status=422)
    return render(request, "accounts/token_new.html", {"form": None, "secret": secret})


@login_required
@require_POST
def token_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    token_revoke(actor=_me(request), token=token)
    messages.success(request, _("The token %(name)s was revoked.") % {"name": token.name})
    return redirect("accounts:security")


@login_required
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    user = _me(request)
    if twofactor.has_two_factor(user) and not _verified(user):
        return redirect("accounts:two_factor_verify")
    form = CodeForm(request.POST or None)
    device = twofactor.totp_pending(user=user)
    if request.method == "POST" and device is not None and form.is_valid():
        try:
            codes = twofactor.totp_confirm(user=user, device=device,
                                           code=form.cleaned_data["code"])
        except InvalidInput as exc:
            form.add_error("code", exc.errors[0].message)
        else:
            django_otp.login(request, device)
            return render(request, "accounts/recovery_codes.html",
                          {"codes": codes, "next": _next(request, "accounts:security")})
    if device is None or request.method == "GET":
        device = twofactor.totp_start(user=user)
    return render(request, "accounts/two_factor_setup.html", {
        "form": form, "qr": twofactor.qr_svg(device), "secret": twofactor.totp_key_text(device),
        "required": two_factor_required(user), "next": request.GET.get("next", "")})


@login_required
def two_factor_verify_view(request: HttpRequest) -> HttpResponse:
    user = _me(request)
    if _verified(user) or not twofactor.has_two_factor(user):
        return redirect(_next(request))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if twofactor.two_factor_verify(request=request, code=form.cleaned_data["code"]):
            return redirect(_next(request))
        form.add_error("code", _("That code is not right. Enter the code your authenticator "
                                 "app shows now, or one of your recovery codes."))
    return render(request, "accounts/two_factor_verify.html",
                  {"form": form, "next": request.GET.get("next", "")})


@login_required
@require_POST
def two_factor_remove_view(request: HttpRequest) -> HttpResponse:
    if two_factor_required(_me(request)):
        messages.error(request, _("Your role requires two-factor sign-in; set up a new "
                                  "authenticator instead."))
        return redirect("accounts:security")
    twofactor.two_factor_remove(actor=_me(request), user=_me(request))
    messages.success(request, _("Two-factor sign-in is off."))
    return redirect("accounts:security")


@login_required
@require_POST
def recovery_codes(request: HttpRequest) -> HttpResponse:
    try:
        codes = twofactor.recovery_codes_renew(user=_me(request))
    except InvalidInput as exc:
        messages.error(request, exc.errors[0].message)
        return redirect("accounts:security")
    return render(request, "accounts/recovery_codes.html",
                  {"codes": codes, "next": redirect("accounts:security").url})


# --- Settings: staff and teams --------------------------------------------------------

@login_required
def staff_page(request: HttpRequest) -> HttpResponse:
    """Staff and teams: invite, change role or team, deactivate (administrators)."""
    return render(request, "accounts/staff.html", {
        "staff": staff_directory(actor=request.user), "teams": team_list(),
        "roles": Role.choices})


@login_required
@require_POST
def staff_invite(request: HttpRequest) -> HttpResponse:
    post = request.POST
    try:
        user, password = user_invite(
            actor=_me(request), username=post.get("username", ""), role=post.get("role", ""),
            first_name=post.get("first_name", ""), last_name=post.get("last_name", ""),
            email=post.get("email", ""), team_name=post.get("team", ""))
    except DomainError as exc:
        messages.error(request, exc.for_people())
        return redirect("accounts:staff")
    return render(request, "accounts/staff_invited.html", {"member": user,
                                                           "password": password})


@login_required
@require_POST
def staff_role(request: HttpRequest, user_id: int) -> HttpResponse:
    member = staff_member_get(actor=request.user, user_id=user_id)
    team_name = request.POST.get("team", "").strip()
    try:
        team = team_get_or_create(actor=_me(request), name=team_name) if team_name else None
        user_set_role(actor=_me(request), user=member, role=request.POST.get("role", ""),
                      team=team)
    except DomainError as exc:
        messages.error(request, exc.for_people())
    else:
        messages.success(request, _("%(name)s saved.") % {"name": member})
    return redirect("accounts:staff")


@login_required
@require_POST
def staff_active(request: HttpRequest, user_id: int) -> HttpResponse:
    member = staff_member_get(actor=request.user, user_id=user_id)
    active = request.POST.get("active") == "1"
    try:
        user_set_active(actor=_me(request), user=member, active=active)
    except DomainError as exc:
        messages.error(request, exc.for_people())
    else:
        messages.success(request, (_("%(name)s can sign in again.") if active else
                                   _("%(name)s can no longer sign in.")) % {"name": member})
    return redirect("accounts:staff")
