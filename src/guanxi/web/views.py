from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views import defaults

from guanxi.core.errors import problem_response


def home(request: HttpRequest) -> HttpResponse:
    return redirect("customers:list")


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
