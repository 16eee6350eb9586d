"""Settings → products and companies (a company's own page: contacts, orders, owner)."""

from __future__ import annotations

import pytest

from guanxi.audit.models import AuditEntry
from guanxi.customers.models import Company, Product
from guanxi.testing import make_customer

pytestmark = pytest.mark.django_db


def test_products_are_listed_added_and_changed(client, personas):
    client.force_login(personas.manager)
    r = client.post("/customers/products/save/", {"sku": "TEA-LJ", "name": "龙井 250g",
                                                  "category": "茶叶", "price": "128.00"},
                    follow=True)
    assert "TEA-LJ" in r.content.decode() and Product.objects.get(sku="TEA-LJ").price == 128
    r = client.post("/customers/products/save/", {"sku": "TEA-LJ", "name": "龙井 250g",
                                                  "category": "茶叶", "price": "abc"},
                    follow=True)
    assert "Give a price like 128.00" in r.content.decode()
    assert Product.objects.get(sku="TEA-LJ").price == 128
    client.force_login(personas.analyst)
    page = client.get("/customers/products/").content.decode()
    assert "龙井 250g" in page and 'data-testid="product-form"' not in page
    assert client.post("/customers/products/save/", {"sku": "X", "name": "x",
                                                     "price": "1"}).status_code == 403


def test_a_company_page_with_contacts_orders_and_owner(client, personas):
    a = make_customer(personas.admin, full_name="张伟", company_name="西湖茶业",
                      owner=personas.sales)
    make_customer(personas.admin, full_name="李娜", company_name="西湖茶业",
                  owner=personas.outsider)
    company = Company.objects.get(name="西湖茶业")
    client.force_login(personas.manager)
    assert "西湖茶业" in client.get("/customers/companies/").content.decode()
    page = client.get(f"/customers/companies/{company.pk}/").content.decode()
    assert "张伟" in page and "李娜" in page
    client.post(f"/customers/companies/{company.pk}/save/", {
        "name": "西湖茶业有限公司", "industry": "茶叶", "website": "xihu-tea.cn",
        "owner": personas.sales.pk})
    company.refresh_from_db()
    assert company.name == "西湖茶业有限公司" and company.website == "https://xihu-tea.cn"
    assert company.owner == personas.sales
    assert AuditEntry.objects.filter(action="company.update").exists()
    # an analyst cannot own a company; the error names why and nothing changes
    r = client.post(f"/customers/companies/{company.pk}/save/", {
        "name": "西湖茶业有限公司", "owner": personas.analyst.pk}, follow=True)
    assert "cannot own customers" in r.content.decode()
    company.refresh_from_db()
    assert company.owner == personas.sales
    # a salesperson sees only their own contacts of the company
    client.force_login(personas.sales)
    page = client.get(f"/customers/companies/{company.pk}/").content.decode()
    assert "张伟" in page and "李娜" not in page
    assert f'href="/customers/companies/{company.pk}/"' in client.get(
        f"/customers/{a.pk}/").content.decode()
