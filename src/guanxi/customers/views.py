"""Staff pages for customers: thin views over selectors and services."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST
from pydantic import ValidationError

from guanxi.accounts.selectors import saved_view_get, saved_views, staff_list
from guanxi.accounts.services import (
    saved_view_deletable,
    saved_view_delete,
    saved_view_save,
)
from guanxi.core.errors import DomainError, PreconditionFailed
from guanxi.core.htmx import is_htmx
from guanxi.core.models import WorkState
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
from guanxi.customers.listing import COLUMNS, LIST_NAME, PAGE_SIZES, filter_keys, list_params
from guanxi.customers.models import IdentityKind
from guanxi.customers.permissions import CustomerAction
from guanxi.customers.selectors import tag_list
from guanxi.customers.services import bulk

# The contact kinds staff add by hand on the 360 page (external ids come from systems).
IDENTITY_FORM_KINDS = [(k, IdentityKind(k).label) for k in ("phone", "email", "wechat_openid")
                       if k in IdentityKind.values]


def _filters(request: HttpRequest) -> dict:
    return list_params(request.GET).filters


@login_required
@require_GET
def customer_list(request: HttpRequest) -> HttpResponse:
    params = list_params(request.GET)
    page = selectors.customer_search(actor=request.user, **params.search_args())
    total, exact = selectors.customer_search_count(actor=request.user, **params.filters)
    context = {"page": page, "filters": params.filters, "params": params, "total": total,
               "total_exact": exact, "columns": [c for c in COLUMNS if c.key in params.columns],
               "all_columns": COLUMNS, "page_sizes": PAGE_SIZES,
               "sortable": not params.filters["q"],
               "bulk_actions": extensions.bulk_actions_for(request.user)}
    if is_htmx(request) and request.headers.get("HX-Target") == "results":
        return render(request, "customers/_results.html", context)
    views = saved_views(actor=request.user, list_name=LIST_NAME)
    context.update(tags=tag_list(),
                   owners=staff_list(actor=request.user, able_to=CustomerAction.CUSTOMER_OWN),
                   regions=selectors.region_list(actor=request.user),
                   extra_filters=[(f, f.choices(request.user),
                                   params.filters["facets"].get(f.param) if f.lookups
                                   else params.filters.get(f.argument))
                                  for f in extensions.list_filters()],
                   saved_views=views, view_id=request.GET.get("view", ""),
                   deletable=next((v for v in views if str(v.pk) == request.GET.get("view")
                                   and saved_view_deletable(request.user, v)), None),
                   bulk_id=int(request.GET["bulk"]) if request.GET.get("bulk", "").isdigit()
                   else None)
    return render(request, "customers/list.html", context)


@login_required
@require_POST
def customer_view_save(request: HttpRequest) -> HttpResponse:
    """Save the list's current filters, columns, sort and page size under a name."""
    require(request.user, CustomerAction.CUSTOMER_VIEW)
    query = request.POST.get("query", "")
    try:
        view = saved_view_save(actor=request.user, list_name=LIST_NAME,
                               name=request.POST.get("name", ""), query=query,
                               allowed=filter_keys(), shared=request.POST.get("shared") == "1")
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect(reverse("customers:list") + "?" + query)
    messages.success(request, _("View “%(name)s” saved.") % {"name": view.name})
    return redirect(reverse("customers:list") + f"?{view.query}&view={view.pk}")


@login_required
@require_GET
def customer_view_open(request: HttpRequest, view_id: int) -> HttpResponse:
    view = saved_view_get(actor=request.user, view_id=view_id)
    return redirect(reverse("customers:list") + f"?{view.query}&view={view.pk}")


@login_required
@require_POST
def customer_view_delete(request: HttpRequest, view_id: int) -> HttpResponse:
    view = saved_view_get(actor=request.user, view_id=view_id)
    saved_view_delete(actor=request.user, view=view)
    messages.success(request, _("View “%(name)s” deleted.") % {"name": view.name})
    return redirect("customers:list")


@login_required
@require_POST
def customer_bulk(request: HttpRequest) -> HttpResponse:
    """A bulk action on the ticked customers (done at once) or on all matching the
    filters (queued; the list then shows its progress)."""
    action, value = request.POST.get("action", ""), request.POST.get("value", "").strip()
    back = reverse("customers:list") + "?" + request.POST.get("query", "")
    try:
        if request.POST.get("scope") == "all":
            filters = list_params(QueryDict(request.POST.get("query", ""))).filters
            item = bulk.bulk_start(actor=request.user, action=action, value=value,
                                   filters=filters)
            return redirect(back + f"&bulk={item.pk}")
        ids = [int(i) for i in request.POST.getlist("ids") if i.isdigit()]
        changed = bulk.bulk_apply(actor=request.user, action=action, value=value, ids=ids)
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect(back)
    messages.success(request, ngettext("%(n)s customer changed.", "%(n)s customers changed.",
                                       changed) % {"n": changed})
    return redirect(back)


@login_required
@require_GET
def customer_bulk_status(request: HttpRequest, item_id: int) -> HttpResponse:
    item = selectors.bulk_job_get(actor=request.user, item_id=item_id)
    response = render(request, "customers/_bulk_status.html", {"item": item})
    if item.state in (WorkState.DONE, WorkState.DEAD):
        response["HX-Trigger"] = "gx-bulk-done"
    return response


@login_required
@require_GET
def customer_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    rows = services.customers_export(actor=request.user, **_filters(request),
                                     readable=request.GET.get("codes") != "1",
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
        "can_contacts": can(user, CustomerAction.IDENTITY_CHANGE),
    }


def _detail_context(request: HttpRequest, pk: int) -> dict:
    view = selectors.customer_360(actor=request.user, customer_id=pk)
    return {"view": view, "customer": view.customer, "interaction_form": InteractionForm(),
            "tag_form": TagForm(), "identity_kinds": IDENTITY_FORM_KINDS,
            "header_panels": extensions.panels_for(request.user, pk, "header"),
            "banner_panels": extensions.panels_for(request.user, pk, "banner"),
            "main_panels": extensions.panels_for(request.user, pk, "main"),
            **_abilities(request.user)}


def _panel_context(request: HttpRequest, pk: int, *, tags: bool = False,
                   consents: bool = False, contacts: bool = False) -> dict:
    """What the tag, consent or contacts panel shows, without the rest of the 360 view
    (customer_get loads the contacts and addresses)."""
    customer = selectors.customer_get(actor=request.user, customer_id=pk)
    view = {"tags": selectors.customer_tags(customer) if tags else [],
            "consents": selectors.consent_states(customer) if consents else [],
            "identities": customer.identities.all() if contacts else [],
            "addresses": customer.addresses.all() if contacts else []}
    return {"view": view, "customer": customer, "tag_form": TagForm(),
            "identity_kinds": IDENTITY_FORM_KINDS, **_abilities(request.user)}


@login_required
@require_GET
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    context = _detail_context(request, pk)
    services.customer_viewed(actor=request.user, customer=context["customer"])
    return render(request, "customers/detail.html", context)


def _contacts(request: HttpRequest, pk: int, error: str = "") -> HttpResponse:
    """The contacts panel again after a change (the page, without htmx)."""
    if not is_htmx(request):
        if error:
            messages.error(request, error)
        return redirect("customers:detail", pk=pk)
    return render(request, "customers/_contacts.html",
                  {**_panel_context(request, pk, contacts=True), "contact_error": error})


def _change(request: HttpRequest, pk: int, write: Any, done: str) -> HttpResponse:
    try:
        write()
    except DomainError as exc:
        return _contacts(request, pk, exc.for_people())
    if not is_htmx(request):
        messages.success(request, done)
    response = _contacts(request, pk)
    response["HX-Trigger"] = json.dumps({"gx-toast": done})
    return response


@login_required
@require_POST
def customer_contact_add(request: HttpRequest, pk: int) -> HttpResponse:
    customer = selectors.customer_for_change(actor=request.user, customer_id=pk)
    kind = request.POST.get("kind", "")
    if kind not in dict(IDENTITY_FORM_KINDS):
        return _contacts(request, pk, _("Choose phone, email or WeChat"))
    return _change(request, pk, lambda: services.identity_add(
        actor=request.user, customer=customer, kind=kind, value=request.POST.get("value", "")),
        _("Contact added."))


@login_required
@require_POST
def customer_contact_change(request: HttpRequest, pk: int, identity_id: int) -> HttpResponse:
    identity = selectors.identity_get(actor=request.user, customer_id=pk, identity_id=identity_id)
    value = request.POST.get("value")
    return _change(request, pk, lambda: services.identity_update(
        actor=request.user, identity=identity, value=value,
        is_primary=request.POST.get("primary") == "1"), _("Contact saved."))


@login_required
@require_POST
def customer_contact_remove(request: HttpRequest, pk: int, identity_id: int) -> HttpResponse:
    identity = selectors.identity_get(actor=request.user, customer_id=pk, identity_id=identity_id)
    return _change(request, pk, lambda: services.identity_remove(
        actor=request.user, identity=identity), _("Contact removed."))


@login_required
@require_POST
def customer_address_add(request: HttpRequest, pk: int) -> HttpResponse:
    customer = selectors.customer_for_change(actor=request.user, customer_id=pk)
    try:
        post = request.POST
        address = services.AddressInput(
            kind=post.get("kind", "home") or "home", country="CN",
            province=post.get("province", "").strip(),
            city=post.get("city", "").strip(), district=post.get("district", "").strip(),
            street=post.get("street", "").strip(), postcode=post.get("postcode", "").strip())
    except ValidationError as exc:
        return _contacts(request, pk, "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
    return _change(request, pk, lambda: services.address_add(
        actor=request.user, customer=customer, address=address), _("Address added."))


@login_required
@require_POST
def customer_address_remove(request: HttpRequest, pk: int, address_id: int) -> HttpResponse:
    address = selectors.address_get(actor=request.user, customer_id=pk, address_id=address_id)
    return _change(request, pk, lambda: services.address_remove(
        actor=request.user, address=address), _("Address removed."))


@login_required
@require_POST
def customer_follow_up_done(request: HttpRequest, pk: int, follow_up_id: int) -> HttpResponse:
    follow_up = selectors.follow_up_get(actor=request.user, follow_up_id=follow_up_id)
    services.follow_up_done(actor=request.user, follow_up=follow_up)
    messages.success(request, _("Follow-up done."))
    if request.POST.get("next") == "home":
        return redirect("home")
    return redirect("customers:detail", pk=follow_up.customer_id)


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
    owners = staff_list(actor=request.user, able_to=CustomerAction.CUSTOMER_OWN)
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
            messages.success(request, _("Customer %(name)s created.") % {
                "name": customer.display_name})
            return redirect("customers:detail", pk=customer.pk)
    status = 422 if request.method == "POST" else 200
    return render(request, "customers/form.html", {"form": form, "creating": True},
                  status=status)


@login_required
def customer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    customer = selectors.customer_for_change(actor=request.user, customer_id=pk)
    if not can(request.user, CustomerAction.CUSTOMER_CHANGE):
        raise PermissionDenied
    owners = staff_list(actor=request.user, able_to=CustomerAction.CUSTOMER_OWN)
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
            messages.success(request, _("Changes saved."))
            return redirect("customers:detail", pk=pk)
    status = 422 if request.method == "POST" else 200
    return render(request, "customers/form.html",
                  {"form": form, "creating": False, "customer": customer}, status=status)
