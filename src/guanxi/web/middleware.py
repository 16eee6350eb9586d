from __future__ import annotations

from django.http import Http404, HttpRequest

from guanxi.core.errors import NotFound


class DomainErrorMiddleware:
    """Turn a service's NotFound into the ordinary 404 page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        if isinstance(exception, NotFound):
            raise Http404(str(exception))
        return None
