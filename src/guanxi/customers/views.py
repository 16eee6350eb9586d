"""Staff pages for customers: thin views over selectors and services."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from guanxi.accounts.selectors import staff_list
from guanxi.core.errors import DomainError, PreconditionFailed
from guanxi.core.htmx import is_htmx
from guanxi.core.permissions import can, is_team_scoped, require
from guanxi.core.spreadsheet import csv_download, xlsx_download
from guanxi.customers import extensions, selectors, services
from guanxi.customers.forms import (
    CustomerCreateForm,
    CustomerEditForm,
    CustomerForm,
    InteractionForm,
    TagForm,
    apply_errors,
)
from guanxi.customers.permissions import CustomerAction
from guanxi.customers.selectors import tag_list


def _filters(request: HttpRequest) -> dict:
    owner = request.GET.get("owner", "")
    filters = {"q": request.GET.get("q", "").strip(), "tag": request.GET.get("tag", ""),
               "owner_id": int(owner) if owner.isdigit() else None,
               "region": request.GET.get("region", "")}
    for extra in extensions.list_filters():  # e.g. the segment, from analytics
        value = request.GET.get(extra.param, "")
        filters[extra.argument] = int(value) if value.isdigit() else None
    return filters


@login_required
@require_GET
def customer_list(request: HttpRequest) -> HttpResponse:
    filters = _filters(request)
    page = selectors.customer_search(actor=request.user, cursor=request.GET.get("cursor"),
                                     **filters)
    context = {"page": page, "filters": filters}
    if is_htmx(request) and request.headers.get("HX-Target") == "results":
        return render(request, "customers/_results.html", context)
    context.update(tags=tag_list(), owners=staff_list(actor=request.user),
                   regions=selectors.region_list(actor=request.user),
                   extra_filters=[(f, f.choices(request.user), filters.get(f.argument))
                                  for f in extensions.list_filters()])
    return render(request, "customers/list.html", context)


@login_required
@require_GET
def customer_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    rows = services.customers_export(actor=request.user, **_filters(request),
                                     consented_only=request.GET.get("everyone") != "1")
    if request.GET.get("format") == "xlsx":
        return xlsx_download(rows, "customers.xlsx", sheet=_("Customers"))
    return csv_download(rows, "customers.csv")


def _abilities(user) -> dict[str, bool]:
    return {
        "can_change": can(user, CustomerAction.CUSTOMER_CHANGE),
        "can_log": can(user, CustomerAction.INTERACTION_LOG),
        "can_tag": can(user, CustomerAction.TAG_ASSIGN),
        "can_consent": can(user, CustomerAction.CONSENT_CHANGE),
    }


def _detail_context(request: HttpRequest, pk: int) -> dict:
    view = selectors.customer_360(actor=request.user, customer_id=pk)
    return {"view": view, "customer": view.customer, "interaction_form": InteractionForm(),
            "tag_form": TagForm(),
            "banner_panels": extensions.panels_for(request.user, pk, "banner"),
            "main_panels": extensions.panels_for(request.user, pk, "main"),
            **_abilities(request.user)}


def _panel_context(request: HttpRequest, pk: int, *, tags: bool = False,
                   consents: bool = False) -> dict:
    """What the tag or consent panel shows, without the rest of the 360 view."""
    customer = selectors.customer_get(actor=request.user, customer_id=pk)
    view = {"tags": selectors.customer_tags(customer) if tags else [],
            "consents": selectors.consent_states(customer) if consents else []}
    return {"view": view, "customer": customer, "tag_form": TagForm(),
            **_abilities(request.user)}


@login_required
@require_GET
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "customers/detail.html", _detail_context(request, pk))


@login_required
@require_GET
def customer_timeline(request: HttpRequest, pk: int) -> HttpResponse:
    page = selectors.timeline(actor=request.user, customer_id=pk,
                              cursor=request.GET.get("cursor"))
    return render(request, "customers/_timeline_rows.html",
                  {"timeline": page, "customer_id": pk})


@login_required
@require_POST
def customer_interaction(request: HttpRequest, pk: int) -> HttpResponse:
    customer = selectors.customer_for_change(actor=request.user, customer_id=pk)
    form = InteractionForm(request.POST)
    if form.is_valid():
        try:
            services.interaction_log(actor=request.user, customer=customer,
                                     **form.cleaned_data)
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            if not is_htmx(request):
                return redirect("customers:detail", pk=pk)
            context = _detail_context(request, pk)
            return render(request, "customers/_activity.html", context)
    context = _detail_context(request, pk)
    context["interaction_form"] = form
    status = 200 if is_htmx(request) else 422
    template = "customers/_activity.html" if is_htmx(request) else "customers/detail.html"
    return render(request, template, context, status=status)


@login_required
@require_POST
def customer_tag_add(request: HttpRequest, pk: int) -> HttpResponse:
    customer = selectors.customer_for_change(actor=request.user, customer_id=pk)
    form = TagForm(request.POST)
    if form.is_valid():
        try:
            services.tag_add(actor=request.user, customer=customer,
                             name=form.cleaned_data["name"])
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            form = TagForm()
    if not is_htmx(request):
        return redirect("customers:detail", pk=pk)
    context = _panel_context(request, pk, tags=True)
    context["tag_form"] = form
    return render(request, "customers/_tags.html", context)


@login_required
@require_POST
def customer_tag_remove(request: HttpRequest, pk: int) -> HttpResponse:
    customer = selectors.customer_for_change(actor=request.user, customer_id=pk)
    services.tag_remove(actor=request.user, customer=customer, name=request.POST.get("name", ""))
    if not is_htmx(request):
        return redirect("customers:detail", pk=pk)
    return render(request, "customers/_tags.html", _panel_context(request, pk, tags=True))


@login_required
@require_POST
def customer_consent(request: HttpRequest, pk: int) -> HttpResponse:
    customer = selectors.customer_for_change(actor=request.user, customer_id=pk)
    services.consent_set(actor=request.user, customer=customer,
                         channel=request.POST.get("channel", ""),
                         purpose=request.POST.get("purpose", ""),
                         granted=request.POST.get("granted") == "1",
                         source=_("Staff UI"), proof=request.POST.get("proof", ""))
    if not is_htmx(request):
        return redirect("customers:detail", pk=pk)
    return render(request, "customers/_consents.html",
                  _panel_context(request, pk, consents=True))


@login_required
def customer_create(request: HttpRequest) -> HttpResponse:
    require(request.user, CustomerAction.CUSTOMER_CREATE)
    owners = staff_list(actor=request.user)
    form = CustomerCreateForm(request.POST or None, owners=owners,
                              initial={"owner": request.user.pk})
    duplicates: list = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if request.POST.get("allow_duplicate") != "1":
            # Shown before saving: the same contact or the same name in any spelling.
            duplicates = extensions.possible_duplicates(
                actor=request.user, family_name=data.get("family_name", ""),
                given_name=data.get("given_name", ""),
                emails=(data["email"],) if data["email"] else (),
                phones=(data["phone"],) if data["phone"] else (),
                birthday=data.get("birthday"))
        if duplicates:
            return render(request, "customers/form.html", {
                "form": form, "creating": True, "duplicates": duplicates}, status=409)
        try:
            customer = services.customer_create(
                actor=request.user, emails=[data["email"]] if data["email"] else [],
                phones=[data["phone"]] if data["phone"] else [], tags=form.tag_names(),
                **form.profile())
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            return redirect("customers:detail", pk=customer.pk)
    status = 422 if request.method == "POST" else 200
    return render(request, "customers/form.html", {"form": form, "creating": True},
                  status=status)


@login_required
def customer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    customer = selectors.customer_for_change(actor=request.user, customer_id=pk)
    if not can(request.user, CustomerAction.CUSTOMER_CHANGE):
        raise PermissionDenied
    owners = staff_list(actor=request.user)
    initial = {f: getattr(customer, f) for f in CustomerForm.base_fields if f != "owner"}
    initial["owner"] = customer.owner_id
    initial["version"] = customer.version
    form = CustomerEditForm(request.POST or None, owners=owners, initial=initial)
    if is_team_scoped(request.user):
        del form.fields["owner"]  # only managers reassign customers
    if request.method == "POST" and form.is_valid():
        try:
            services.customer_update(actor=request.user, customer=customer,
                                     expected_version=form.cleaned_data.get("version"),
                                     **form.profile())
        except PreconditionFailed as exc:
            # Their input stays; saving again (at the current version) replaces the
            # other change, which the warning says.
            form.add_error(None, str(exc.message))
            form.add_error(None, _("Saving again replaces the other change; open the "
                                   "customer in a new tab to compare."))
            data = form.data.copy()  # type: ignore[attr-defined]  # a QueryDict
            data["version"] = exc.extra["current_version"]
            form.data = data
            return render(request, "customers/form.html",
                          {"form": form, "creating": False, "customer": customer}, status=412)
        except DomainError as exc:
            apply_errors(form, exc)
        else:
            return redirect("customers:detail", pk=pk)
    status = 422 if request.method == "POST" else 200
    return render(request, "customers/form.html",
                  {"form": form, "creating": False, "customer": customer}, status=status)
