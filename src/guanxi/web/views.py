from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views import defaults

from guanxi.core.errors import problem_response
from guanxi.core.htmx import is_htmx
from guanxi.core.permissions import effective_role
from guanxi.core.shell import home_cards_for, home_tiles_for, search_everything, settings_for


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The home page (工作台): the KPI tiles and cards the apps registered that this user
    may see (an account without a role is told to ask for one)."""
    cards = [(card, render_to_string(card.template, context, request=request))
             for card, context in home_cards_for(request.user)]
    return render(request, "web/home.html", {
        "cards": cards, "tiles": home_tiles_for(request.user),
        "no_role": effective_role(request.user) is None})


@login_required
def settings_page(request: HttpRequest) -> HttpResponse:
    """The Settings page: the sections the apps registered that this user may manage."""
    sections = settings_for(request.user)
    if not sections and not request.user.is_staff:
        raise PermissionDenied
    return render(request, "web/settings.html", {"sections": sections})


@login_required
def search(request: HttpRequest) -> HttpResponse:
    """One search box over everything the apps registered a provider for."""
    query = request.GET.get("q", "")[:200]
    if effective_role(request.user) is None:
        raise PermissionDenied
    results = search_everything(request.user, query)
    template = "web/_search_results.html" if is_htmx(request) else "web/search.html"
    return render(request, template, {"q": query, "results": results})


def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok", "database": connection.vendor})


def _api_problem(request: HttpRequest, status: int, title: str) -> HttpResponse | None:
    """Under /api/ every error is problem+json, including Django's own 404/500 pages
    (a path no route matches, an error outside the API's handlers)."""
    if not request.path.startswith("/api/"):
        return None
    return problem_response(status, title)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return (_api_problem(request, 404, "Not found")
            or defaults.page_not_found(request, exception))


def server_error(request: HttpRequest) -> HttpResponse:
    return _api_problem(request, 500, "Internal server error") or defaults.server_error(request)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    return _api_problem(request, 400, "Bad request") or defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    return (_api_problem(request, 403, "Forbidden")
            or defaults.permission_denied(request, exception))
