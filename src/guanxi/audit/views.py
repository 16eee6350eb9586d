from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from guanxi.audit import selectors
from guanxi.audit.models import AuditEntry
from guanxi.audit.services import audit_log_export
from guanxi.core.errors import FieldError, InvalidInput
from guanxi.core.spreadsheet import csv_download


def _filters(request: HttpRequest) -> dict[str, Any]:
    """The page's filters, each checked: a bad one is named, never ignored."""
    errors: list[FieldError] = []
    out: dict[str, Any] = {"who": request.GET.get("who", "").strip(),
                           "action": request.GET.get("action", "").strip()}
    customer = request.GET.get("customer", "").strip()
    if customer:
        if not customer.isdigit():
            errors.append(FieldError("customer", _("Enter a customer number"), customer))
        else:
            out["customer_id"] = int(customer)
    for name in ("since", "until"):
        value = request.GET.get(name, "").strip()
        if value:
            try:
                out[name] = dt.date.fromisoformat(value)
            except ValueError:
                errors.append(FieldError(name, _("Enter a date as YYYY-MM-DD"), value))
    if errors:
        raise InvalidInput(errors)
    return out


@login_required
def audit_log(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    try:
        filters = _filters(request)
    except InvalidInput as exc:
        qs, errors = None, exc.errors
    else:
        if request.GET.get("format") == "csv":
            return csv_download(audit_log_export(actor=request.user, **filters), "audit.csv")
        qs, errors = selectors.audit_entries(actor=request.user, **filters), []
    entries = qs if qs is not None else AuditEntry.objects.none()
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render(request, "audit/log.html", {
        "page": page, "errors": errors, "actions": selectors.audit_actions(),
        "query": request.GET.copy()}, status=422 if errors else 200)
