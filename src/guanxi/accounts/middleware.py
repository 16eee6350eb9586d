"""Session limits and the two-factor gate, after Django's authentication middleware."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _

AUTH_AT = "gx_auth_at"
SEEN_AT = "gx_seen_at"
TWO_FACTOR_CHECKED = "gx_2fa_checked"
# Refresh the idle clock at most this often: a session write per request would serialise
# SQLite for nothing.
SEEN_RESOLUTION_S = 60
# How long a "this session needs no second factor" answer is trusted before the role
# policy and the user's devices are read again.
TWO_FACTOR_RECHECK_S = 300


def session_started(request: HttpRequest) -> None:
    """Start the session clocks (called on every sign-in)."""
    now = int(time.time())
    request.session[AUTH_AT] = now
    request.session[SEEN_AT] = now
    request.session.pop(TWO_FACTOR_CHECKED, None)


def client_ip(request: HttpRequest) -> str | None:
    """The client's address for sign-in throttling and history (AXES_CLIENT_IP_CALLABLE).
    Behind GUANXI_PROXY_COUNT trusted proxies it is the X-Forwarded-For entry the
    outermost trusted proxy saw (entries further left can be forged by the client);
    without proxies, REMOTE_ADDR. Behind a proxy, REMOTE_ADDR would be the proxy for
    everyone, and one person's typos would lock every user out."""
    count = settings.GUANXI_PROXY_COUNT
    if count > 0:
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
                     if p.strip()]
        if len(forwarded) >= count:
            return forwarded[-count]
    return request.META.get("REMOTE_ADDR")


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


class SessionLimitsMiddleware:
    """Ends a signed-in session after GUANXI_SESSION_IDLE_MINUTES without a request or
    GUANXI_SESSION_MAX_HOURS after sign-in, whichever comes first."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and AUTH_AT in request.session:
            now = int(time.time())
            seen = int(request.session.get(SEEN_AT, request.session[AUTH_AT]))
            idle = now - seen > settings.GUANXI_SESSION_IDLE_MINUTES * 60
            old = now - int(request.session[AUTH_AT]) > settings.GUANXI_SESSION_MAX_HOURS * 3600
            if idle or old:
                logout(request)
                if not _is_api(request):
                    messages.info(request, _("You were signed out after a period without "
                                             "activity. Please sign in again.") if idle else
                                  _("Your session reached its time limit. Please sign in "
                                    "again."))
                    return HttpResponseRedirect(
                        f"{reverse(settings.LOGIN_URL)}?next={quote(request.get_full_path())}")
            elif now - seen >= SEEN_RESOLUTION_S:
                request.session[SEEN_AT] = now
        return self.get_response(request)


class TwoFactorMiddleware:
    """A signed-in user who has an authenticator, or whose role requires one, must enter a
    code before anything else. Until then pages redirect to the code (or set-up) page and
    the API treats the session as signed out (API tokens are a separate credential)."""

    OPEN_PREFIXES = ("/static/", "/i18n/", "/healthz", "/accounts/logout/",
                     "/accounts/two-factor/setup/", "/accounts/two-factor/verify/")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated and not user.is_verified()
                and not request.path.startswith(self.OPEN_PREFIXES)):
            step = self.step(request, user)
            if step is not None:
                if _is_api(request):
                    request.user = AnonymousUser()
                else:
                    return HttpResponseRedirect(
                        f"{reverse(step)}?next={quote(request.get_full_path())}")
        return self.get_response(request)

    @staticmethod
    def step(request: HttpRequest, user: object) -> str | None:
        """The page the user must go through first, or None."""
        from guanxi.accounts.selectors import two_factor_required
        from guanxi.accounts.twofactor import has_two_factor

        checked = request.session.get(TWO_FACTOR_CHECKED)
        if checked is not None and time.time() - checked < TWO_FACTOR_RECHECK_S:
            return None
        if has_two_factor(user):  # type: ignore[arg-type]
            return "accounts:two_factor_verify"
        if two_factor_required(user):  # type: ignore[arg-type]
            return "accounts:two_factor_setup"
        request.session[TWO_FACTOR_CHECKED] = int(time.time())
        return None
