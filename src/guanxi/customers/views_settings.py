"""Settings pages of the customers app: products and companies (each company with a page
of its own: contacts, orders, owner)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from guanxi.accounts.selectors import staff_get, staff_list
from guanxi.core.errors import DomainError, InvalidInput
from guanxi.core.permissions import can
from guanxi.customers import selectors, services
from guanxi.customers.permissions import CustomerAction


@login_required
def product_page(request: HttpRequest) -> HttpResponse:
    """Products and categories: the catalogue orders refer to."""
    products = selectors.product_list(actor=request.user)
    return render(request, "customers/products.html", {
        "products": products, "can_edit": can(request.user, CustomerAction.ORDER_CREATE),
        "categories": sorted({p.category for p in products if p.category})})


@login_required
@require_POST
def product_save(request: HttpRequest) -> HttpResponse:
    post = request.POST
    try:
        try:
            price = Decimal(post.get("price", "").strip() or "x")
        except InvalidOperation:
            raise InvalidInput.single("price", _("Give a price like 128.00"),
                                      post.get("price", "")) from None
        product = services.product_upsert(
            actor=request.user, sku=post.get("sku", ""), name=post.get("name", ""),
            price=price, category=post.get("category", ""), currency=post.get("currency", ""))
    except DomainError as exc:
        messages.error(request, exc.for_people())
    else:
        messages.success(request, _("Product %(sku)s saved.") % {"sku": product.sku})
    return redirect("customers:products")


@login_required
def company_list_page(request: HttpRequest) -> HttpResponse:
    return render(request, "customers/companies.html",
                  {"companies": selectors.company_list(actor=request.user)})


@login_required
def company_page(request: HttpRequest, company_id: int) -> HttpResponse:
    view = selectors.company_get(actor=request.user, company_id=company_id)
    return render(request, "customers/company.html", {
        "view": view, "company": view.company,
        "can_change": can(request.user, CustomerAction.CUSTOMER_CHANGE),
        "owners": staff_list(actor=request.user, able_to=CustomerAction.CUSTOMER_OWN)})


@login_required
@require_POST
def company_save(request: HttpRequest, company_id: int) -> HttpResponse:
    view = selectors.company_get(actor=request.user, company_id=company_id)
    post = request.POST
    try:
        owner = staff_get(user_id=int(post["owner"])) if post.get("owner", "").isdigit() \
            else None
        services.company_update(actor=request.user, company=view.company,
                                name=post.get("name", ""), industry=post.get("industry", ""),
                                website=post.get("website", ""), owner=owner)
    except DomainError as exc:
        messages.error(request, exc.for_people())
    else:
        messages.success(request, _("Company saved."))
    return redirect("customers:company", company_id=company_id)
