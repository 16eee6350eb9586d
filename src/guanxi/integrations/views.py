"""Settings pages for webhooks (endpoints, their delivery log, replay, secret rotation)
and inbound sources, and the inbound endpoint /hooks/<slug> itself."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from guanxi.accounts.selectors import staff_list
from guanxi.core.errors import PROBLEM_TYPE, DomainError, FieldError, InvalidInput
from guanxi.core.permissions import require
from guanxi.integrations import inbound, selectors, services
from guanxi.integrations.models import InboundSource
from guanxi.integrations.permissions import IntegrationAction
from guanxi.timeline.kinds import kind_choices


@login_required
def webhooks(request: HttpRequest) -> HttpResponse:
    require(request.user, IntegrationAction.MANAGE)
    errors: list[Any] = []
    form: dict[str, Any] = {"name": "", "url": "", "event_kinds": []}
    if request.method == "POST":
        form = {"name": request.POST.get("name", ""), "url": request.POST.get("url", ""),
                "event_kinds": request.POST.getlist("event_kinds")}
        try:
            endpoint = services.endpoint_save(
                actor=request.user, allow_private=bool(request.POST.get("allow_private")),
                **form)
        except DomainError as exc:
            errors = exc.errors or [FieldError("", exc.message)]
        else:
            messages.success(request, _("Endpoint added. Its signing secret is on its page."))
            return redirect("integrations:endpoint", pk=endpoint.pk)
    return render(request, "integrations/webhooks.html", {
        "endpoints": selectors.endpoint_list(actor=request.user), "errors": errors,
        "form": form, "kinds": [("*", _("Every event")), *kind_choices()],
        "sources": selectors.source_list(actor=request.user)},
        status=422 if errors else 200)


@login_required
def endpoint(request: HttpRequest, pk: int) -> HttpResponse:
    found = selectors.endpoint_get(actor=request.user, endpoint_id=pk)
    errors: list[Any] = []
    if request.method == "POST":
        try:
            services.endpoint_save(
                actor=request.user, endpoint=found, name=request.POST.get("name", ""),
                url=request.POST.get("url", ""),
                event_kinds=request.POST.getlist("event_kinds"),
                active=bool(request.POST.get("active")),
                allow_private=bool(request.POST.get("allow_private")))
        except DomainError as exc:
            errors = exc.errors or [FieldError("", exc.message)]
        else:
            messages.success(request, _("Endpoint saved."))
            return redirect("integrations:endpoint", pk=pk)
    return render(request, "integrations/endpoint.html", {
        "endpoint": found, "errors": errors,
        "deliveries": selectors.deliveries(actor=request.user, endpoint=found),
        "kinds": [("*", _("Every event")), *kind_choices()]},
        status=422 if errors else 200)


@login_required
@require_POST
def endpoint_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    found = selectors.endpoint_get(actor=request.user, endpoint_id=pk)
    services.endpoint_rotate_secret(actor=request.user, endpoint=found)
    messages.success(request, _("New secret made; the old one also signs for 24 hours."))
    return redirect("integrations:endpoint", pk=pk)


@login_required
@require_POST
def endpoint_delete(request: HttpRequest, pk: int) -> HttpResponse:
    found = selectors.endpoint_get(actor=request.user, endpoint_id=pk)
    services.endpoint_delete(actor=request.user, endpoint=found)
    messages.success(request, _("Endpoint deleted."))
    return redirect("integrations:webhooks")


@login_required
@require_POST
def delivery_replay(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = selectors.delivery_get(actor=request.user, delivery_id=pk)
    services.delivery_replay(actor=request.user, delivery=delivery)
    messages.success(request, _("The message is being sent again."))
    return redirect("integrations:endpoint", pk=delivery.endpoint_id)


@login_required
def sources(request: HttpRequest) -> HttpResponse:
    require(request.user, IntegrationAction.MANAGE)
    errors: list[Any] = []
    form = {"slug": "", "name": "", "kind": "shopify", "acts_as": ""}
    if request.method == "POST":
        form = {k: request.POST.get(k, "") for k in form}
        people = {str(u.pk): u for u in staff_list(actor=request.user,
                                                   able_to="order.create")}
        try:
            if form["acts_as"] not in people:
                raise InvalidInput.single("acts_as", _("Choose a staff account who may "
                                                       "record orders"))
            services.source_save(actor=request.user, slug=form["slug"], name=form["name"],
                                 kind=form["kind"], secret=request.POST.get("secret", ""),
                                 acts_as=people[form["acts_as"]])
        except DomainError as exc:
            errors = exc.errors or [FieldError("", exc.message)]
        else:
            messages.success(request, _("Inbound source saved."))
            return redirect("integrations:sources")
    return render(request, "integrations/sources.html", {
        "sources": selectors.source_list(actor=request.user), "errors": errors, "form": form,
        "kinds": InboundSource.Kind.choices,
        "people": staff_list(actor=request.user, able_to="order.create")},
        status=422 if errors else 200)


def _problem(status: int, title: str, errors: list[FieldError] | None = None) -> JsonResponse:
    body: dict[str, Any] = {"type": f"/problems/{status}", "title": title, "status": status}
    if errors:
        body["errors"] = [{"field": e.field, "message": e.message} for e in errors]
        body["detail"] = "; ".join(f"{e.field}: {e.message}" for e in errors)
    return JsonResponse(body, status=status, content_type=PROBLEM_TYPE)


@csrf_exempt
@require_POST
def hook(request: HttpRequest, slug: str) -> HttpResponse:
    """The inbound endpoint: signed by the source, idempotent by its id."""
    source = InboundSource.objects.select_related("acts_as").filter(slug=slug,
                                                                   active=True).first()
    if source is None:
        return _problem(404, "Unknown source")
    try:
        status, answer = inbound.receive(source, request.body, dict(request.headers))
    except inbound.BadSignature as exc:
        return _problem(401, f"Bad signature: {exc}")
    except InvalidInput as exc:
        return _problem(422, "Invalid payload", exc.errors)
    except DomainError as exc:
        return _problem(exc.status, exc.message, exc.errors)
    return JsonResponse(answer, status=status)
