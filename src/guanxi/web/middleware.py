from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.http import Http404, HttpRequest
from django.shortcuts import render

from guanxi.core.errors import DomainError, NotFound


class SecurityHeadersMiddleware:
    """Headers Django's SecurityMiddleware does not send: Permissions-Policy (no camera,
    microphone, location or payment APIs for any page)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", settings.GUANXI_PERMISSIONS_POLICY)
        return response


class DomainErrorMiddleware:
    """Turn a service's NotFound into the 404 page and other domain errors into 4xx pages."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        if isinstance(exception, NotFound):
            raise Http404(str(exception))
        if isinstance(exception, DomainError):
            return render(request, "400.html", {"error": exception}, status=exception.status)
        return None


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class AtomicWritesMiddleware:
    """A request that changes data runs in one transaction, rolled back when its answer
    is a server error: a 500 never leaves half a write behind. Reads stay outside a
    transaction (on SQLite every transaction takes the write lock), and so do file
    uploads: their body is received inside the view, which on SQLite would hold the
    write lock for as long as a large file takes to arrive (the upload views write one
    row, atomically, after the file is stored)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        if request.method in SAFE_METHODS or request.content_type == "multipart/form-data":
            return self.get_response(request)
        with transaction.atomic():
            response = self.get_response(request)
            if response.status_code >= 500:
                transaction.set_rollback(True)
        return response
