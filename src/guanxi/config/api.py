"""The REST API: one NinjaAPI mounting each app's router, with token auth, rate limits and
RFC 9457 problem+json errors."""

from __future__ import annotations

import functools
import json
import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError
from ninja.openapi.docs import Swagger
from ninja.parser import Parser
from ninja.security import HttpBearer, django_auth
from ninja.throttling import AuthRateThrottle

from guanxi.accounts.services import token_authenticate
from guanxi.core.errors import PROBLEM_TYPE, DomainError, problem_response

PROBLEM = PROBLEM_TYPE


class UnsupportedMediaType(Exception):
    """A body that is not JSON."""


class NulCharacter(Exception):
    """A text with a NUL character, which no database text column holds (PostgreSQL
    refuses it)."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


def _find_nul(value: Any, path: str = "") -> str | None:
    if isinstance(value, str):
        return path if "\x00" in value else None
    items = (value.items() if isinstance(value, dict)
             else enumerate(value) if isinstance(value, list) else ())
    for key, item in items:
        if isinstance(key, str) and "\x00" in key:
            return f"{path}.{key}".strip(".")
        if (found := _find_nul(item, f"{path}.{key}".strip("."))) is not None:
            return found
    return None


class JsonParser(Parser):
    """Bodies are JSON (application/json or a +json type), never guessed from text."""

    def parse_body(self, request: HttpRequest) -> Any:
        media = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
        if media != "application/json" and not media.endswith("+json"):
            raise UnsupportedMediaType(media)
        data = super().parse_body(request)
        # JSON can carry a NUL only as the escape \u0000 (a raw control character is not
        # JSON): a body without the escape needs no walk through every value.
        if b"\\u0000" in request.body and (path := _find_nul(data)) is not None:
            raise NulCharacter(path)
        return data


class LocalSwagger(Swagger):
    """Swagger UI from the vendored swagger-ui-dist (no CDN: works offline and in China)."""

    def render_page(self, request: HttpRequest, api: Any, **kwargs: Any) -> HttpResponse:
        self.settings["url"] = self.get_openapi_url(api, kwargs)
        return render(request, "web/swagger.html", {
            "swagger_settings": json.dumps(self.settings, indent=1), "api": api,
            "add_csrf": True})


def signed_in(view: Any) -> Any:
    """The docs and the schema are for staff: a signed-in browser, or a valid API token
    (a client generating code from the schema). Others sign in first (docs) or get 401."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated:
            return view(request, *args, **kwargs)
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("bearer ") and token_authenticate(header[7:].strip()):
            return view(request, *args, **kwargs)
        if request.path.endswith(".json"):
            response = problem_response(
                401, "Unauthorized", code="unauthorized",
                detail="Sign in, or send Authorization: Bearer <token>")
            response["WWW-Authenticate"] = "Bearer"
            return response
        return redirect_to_login(request.get_full_path())

    return wrapper


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class TokenAuth(HttpBearer):
    """A bearer token, valid (not revoked or expired) and with a scope that allows this
    app's endpoints: reads need read or write, other methods write. A token without the
    scope is answered 403 with the scope it lacks."""

    def __init__(self, app: str = "") -> None:
        super().__init__()
        self.app = app

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        api_token = token_authenticate(token)
        if api_token is None:
            return None
        write = request.method not in SAFE_METHODS
        if self.app and not api_token.allows(self.app, write):
            mode = "write" if write else "read"
            raise PermissionDenied(f"This token's scopes ({', '.join(api_token.scopes)}) do "
                                   f"not include {mode} or {self.app}:{mode}")
        request.user = api_token.user
        return api_token


class TokenRateThrottle(AuthRateThrottle):
    """Per-token limit from settings.GUANXI_API_RATE ("1200/m"), read on each request so an
    operator's change (and a test's override) applies without a restart."""

    def allow_request(self, request: HttpRequest) -> bool:
        if self.rate != settings.GUANXI_API_RATE:
            self.rate = settings.GUANXI_API_RATE
            self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request)


PROBLEM_SCHEMA = {
    "type": "object", "title": "Problem", "required": ["type", "title", "status"],
    "description": "RFC 9457 problem details",
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"},
        "status": {"type": "integer"}, "detail": {"type": "string"},
        "errors": {"type": "array", "items": {
            "type": "object", "required": ["field", "message"],
            "properties": {"field": {"type": "string"}, "message": {"type": "string"},
                           "in": {"type": "string"}}}},
    },
    "additionalProperties": True,
}
# What any operation can answer besides its own success: documented once, for all.
ERROR_RESPONSES = {
    "400": "Malformed request (e.g. a body that is not valid JSON)",
    "401": "No valid token or session",
    "403": "The role does not allow this",
    "404": "No such record, or not visible to this user",
    "409": "Conflicts with the current state (the body names what)",
    "412": "The record changed since it was read (If-Match)",
    "415": "The body is not JSON",
    "422": "Invalid input; `errors` names each field",
    "429": "Too many requests; see Retry-After",
    "500": "Unexpected error; nothing was saved",
}


class GuanxiAPI(NinjaAPI):
    """The API, with the problem+json error answers in its OpenAPI schema."""

    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> Any:
        schema = super().get_openapi_schema(*args, **kwargs)
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = \
            PROBLEM_SCHEMA
        ref = {"$ref": "#/components/schemas/Problem"}
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                for code, description in ERROR_RESPONSES.items():
                    responses.setdefault(code, {"description": description, "content": {
                        PROBLEM: {"schema": ref}}})
        return schema


api = GuanxiAPI(
    title="Guanxi API",
    version="1",
    description="REST API v1 of Guanxi, the self-hosted CRM. Authenticate with "
                "`Authorization: Bearer <token>` (create one with `guanxi token create`).",
    urls_namespace="api",
    auth=[TokenAuth(), django_auth],  # signed-in browsers; CSRF-checked
    throttle=[TokenRateThrottle(settings.GUANXI_API_RATE)],
    parser=JsonParser(),
    docs=LocalSwagger(),
    docs_decorator=signed_in,
    docs_url="/docs",
    openapi_url="/openapi.json",
)

logger = logging.getLogger("guanxi.api")


def problem(request: HttpRequest, *, status: int, title: str, detail: str = "",
            code: str = "", errors: list[dict[str, Any]] | None = None,
            **extra: Any) -> HttpResponse:
    body: dict[str, Any] = {"type": f"/problems/{code or status}", "title": title,
                            "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    body.update(extra)
    response = api.create_response(request, body, status=status)
    response["Content-Type"] = PROBLEM
    return response


def _field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header", "form"):
        parts = parts[1:]
        if parts and parts[0] == "payload":
            parts = parts[1:]
    return ".".join(str(p) for p in parts)


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [{"field": _field_path(e.get("loc", ())), "message": e.get("msg", ""),
               "in": (e.get("loc") or ["body"])[0]} for e in exc.errors]
    return problem(request, status=422, title="Invalid input", code="validation-error",
                   detail="; ".join(f"{e['field']}: {e['message']}" for e in errors),
                   errors=errors)


@api.exception_handler(DomainError)
def on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    errors = [{"field": e.field, "message": e.message} for e in exc.errors]
    return problem(request, status=exc.status, title=exc.message, detail=str(exc),
                   code=exc.code, errors=errors, **exc.extra)


@api.exception_handler(PermissionDenied)
def on_permission_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return problem(request, status=403, title="Forbidden", code="forbidden",
                   detail=str(exc) or "Your role does not allow this")


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return problem(request, status=404, title="Not found", code="not-found")


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = problem(request, status=401, title="Unauthorized", code="unauthorized",
                       detail="Send a valid token: Authorization: Bearer <token>")
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(Throttled)
def on_throttled(request: HttpRequest, exc: Throttled) -> HttpResponse:
    return problem(request, status=429, title="Too many requests", code="rate-limited",
                   detail="Slow down; see the Retry-After header")


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc.__cause__, NulCharacter):
        field = exc.__cause__.path
        return problem(request, status=422, title="Invalid input", code="validation-error",
                       detail=f"{field}: must not contain NUL characters",
                       errors=[{"field": field, "in": "body",
                                "message": "must not contain NUL characters"}])
    if isinstance(exc.__cause__, UnsupportedMediaType):
        return problem(request, status=415, title="Unsupported media type",
                       code="unsupported-media-type",
                       detail="Send the body as JSON with Content-Type: application/json")
    if exc.status_code == 400 and isinstance(exc.__cause__, ValueError):
        return problem(request, status=400, title="Malformed JSON", code="malformed-json",
                       detail=f"The body is not valid JSON: {exc.__cause__}"[:300])
    return problem(request, status=exc.status_code, title=str(exc))


@api.exception_handler(Exception)
def on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    """Anything else is our defect: logged with its traceback, answered as problem+json
    (the request's writes are rolled back by AtomicWritesMiddleware)."""
    logger.error("API error on %s %s", request.method, request.path, exc_info=exc)
    return problem(request, status=500, title="Internal server error", code="server-error",
                   detail="An unexpected error occurred; nothing was saved. It was logged.")


def mount() -> None:
    from guanxi.accounts.api import router as accounts_router
    from guanxi.analytics.api import router as analytics_router
    from guanxi.automation.api import router as automation_router
    from guanxi.customers.api import router as customers_router
    from guanxi.dataquality.api import router as dataquality_router
    from guanxi.engagement.api import router as engagement_router
    from guanxi.integrations.api import router as integrations_router
    from guanxi.loyalty.api import router as loyalty_router
    from guanxi.privacy.api import router as privacy_router
    from guanxi.servicedesk.api import public as servicedesk_public
    from guanxi.servicedesk.api import router as servicedesk_router

    # Each app's endpoints check the token's scopes for that app ("customers:read", ...);
    # /me answers any valid token, whatever its scopes.
    for app, router in (("customers", customers_router), ("", accounts_router),
                        ("dataquality", dataquality_router), ("analytics", analytics_router),
                        ("privacy", privacy_router), ("automation", automation_router),
                        ("integrations", integrations_router),
                        ("engagement", engagement_router),
                        ("servicedesk", servicedesk_router),
                        ("loyalty", loyalty_router)):
        api.add_router("/", router, auth=[TokenAuth(app), django_auth])
    # the FAQ bot of the public web widget: no token (rate limited per address)
    api.add_router("/", servicedesk_public)


mount()
