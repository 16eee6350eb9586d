from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from guanxi.core.errors import DomainError
from guanxi.core.permissions import can, require
from guanxi.customers.privacy import person_of
from guanxi.privacy import selectors, services
from guanxi.privacy.permissions import PrivacyAction


@login_required
def records(request: HttpRequest) -> HttpResponse:
    """What personal data Guanxi holds, why, and where it goes; and where a privacy
    officer starts a request."""
    require(request.user, PrivacyAction.RECORDS_VIEW)
    return render(request, "privacy/records.html", {
        "records": selectors.processing_records(),
        "retention": selectors.retention_preview(),
        "can_request": can(request.user, PrivacyAction.REQUESTS)})


@login_required
def person(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, PrivacyAction.REQUESTS)
    if request.method == "GET" and "customer" in request.GET:
        try:
            return redirect("privacy:person", pk=int(request.GET["customer"]))
        except ValueError:
            messages.error(request, _("Enter a customer number"))
            return redirect("privacy:records")
    # What is held, section by section: read to show, not exported (nothing leaves, so
    # no export entry in the audit log).
    customer = selectors.person_get(actor=request.user, customer_id=pk)
    sections = selectors.personal_data_sections(person_of(customer),
                                                get_language() or "en")
    return render(request, "privacy/person.html", {"sections": sections,
                                                   "customer": customer})


@login_required
def export(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    data = services.personal_data_export(actor=request.user, customer_id=pk)
    if fmt == "xlsx":
        response = HttpResponse(services.personal_data_xlsx(data), content_type=(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))
    else:
        response = HttpResponse(json.dumps(data, ensure_ascii=False, indent=1),
                                content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="personal-data-{pk}.{fmt}"'
    return response


@login_required
@require_POST
def erase(request: HttpRequest, pk: int) -> HttpResponse:
    if request.POST.get("confirm") != str(pk):
        messages.error(request, _("Type the customer number to confirm the erasure."))
        return redirect("privacy:person", pk=pk)
    try:
        counts = services.person_erase(actor=request.user, customer_id=pk,
                                       reason=request.POST.get("reason", ""))
    except DomainError as exc:
        messages.error(request, str(exc))
        return redirect("privacy:person", pk=pk)
    return render(request, "privacy/erased.html", {"pk": pk, "counts": counts})
