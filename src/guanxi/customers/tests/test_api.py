"""REST API v1: CRUD, search, cursor pagination, bulk ingest, problem+json errors, limits."""

from __future__ import annotations

import json
import re

import pytest
from django.test import override_settings

from guanxi.customers.models import Customer, Event
from guanxi.testing import bearer, make_customer

pytestmark = pytest.mark.django_db


def call(client, method, url, user=None, body=None, headers=None):
    h = dict(headers or {})
    if user is not None:
        h.update(bearer(user))
    kwargs = {"headers": h}
    if body is not None:
        kwargs.update(data=json.dumps(body), content_type="application/json")
    return getattr(client, method)(url, **kwargs)


def test_create_read_update_delete(client, personas):
    r = call(client, "post", "/api/v1/customers", personas.sales, {
        "full_name": "欧阳娜娜", "phones": ["139 0000 1111"], "emails": ["nana@example.com"],
        "tags": ["VIP"], "birthday": "1995-02-09", "lunar_birthday": True})
    assert r.status_code == 201, r.content
    cid = r.json()["id"]
    assert r.json()["tags"] == ["VIP"] and r.json()["owner"] == "sales"
    r = call(client, "get", f"/api/v1/customers/{cid}", personas.sales)
    body = r.json()
    assert body["customer"]["display_name"] == "欧阳娜娜"
    assert {c["purpose"] for c in body["consents"]} == {"marketing", "service", "surveys"}
    assert body["timeline"]["items"][0]["kind"] == "customer_created"
    r = call(client, "patch", f"/api/v1/customers/{cid}", personas.sales, {"region": "上海市"})
    assert r.status_code == 200 and r.json()["region"] == "上海市"
    r = call(client, "delete", f"/api/v1/customers/{cid}", personas.manager)
    assert r.status_code == 204 and not Customer.objects.filter(pk=cid).exists()


def test_bad_input_is_422_problem_json_with_field_paths_and_writes_nothing(client, personas):
    r = call(client, "post", "/api/v1/customers", personas.admin,
             {"full_name": "张伟", "emails": ["not-an-email"], "birthday": "1990-13-40"})
    assert r.status_code == 422
    assert r["Content-Type"] == "application/problem+json"
    assert "birthday" in {e["field"] for e in r.json()["errors"]}
    r = call(client, "post", "/api/v1/customers", personas.admin,
             {"full_name": "张伟", "emails": ["not-an-email"], "phones": ["123"]})
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"emails.0", "phones.0"}
    assert Customer.objects.count() == 0


def test_conflict_is_409_naming_the_existing_customer(client, personas):
    first = make_customer(personas.admin, full_name="张伟", emails=["zw@example.com"])
    r = call(client, "post", "/api/v1/customers", personas.admin,
             {"full_name": "Zhang Wei", "emails": ["ZW@Example.com"]})
    assert r.status_code == 409
    assert r.json()["existing_customer_id"] == first.pk


def test_search_and_cursor_pagination(client, personas):
    for i in range(7):
        make_customer(personas.admin, full_name=f"张{'伟芳娜敏静丽强'[i]}",
                      phones=[f"1380013800{i}"])
    seen = []
    url = "/api/v1/customers?limit=3"
    while url:
        page = call(client, "get", url, personas.admin).json()
        seen += [c["id"] for c in page["items"]]
        url = f"/api/v1/customers?limit=3&cursor={page['next_cursor']}" \
            if page["next_cursor"] else None
    assert len(seen) == len(set(seen)) == 7
    r = call(client, "get", "/api/v1/customers?q=zhangw", personas.admin).json()
    assert [c["display_name"] for c in r["items"]] == ["张伟"]
    r = call(client, "get", "/api/v1/customers?q=8005", personas.admin).json()
    assert [c["display_name"] for c in r["items"]] == ["张丽"]
    r = call(client, "get", "/api/v1/customers?cursor=garbage", personas.admin)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "cursor"


def test_bulk_ingest_idempotency_and_limit(client, personas):
    c = make_customer(personas.admin, full_name="张伟", emails=["zw@example.com"])
    events = [{"customer_id": c.pk, "kind": "page_viewed", "idempotency_key": f"pv-{i}",
               "occurred_at": "2026-01-01T10:00:00+08:00"} for i in range(50)]
    events.append({"identity": {"kind": "email", "value": "zw@example.com"},
                   "kind": "custom.webinar_joined", "occurred_at": "2026-01-02T10:00:00Z"})
    r = call(client, "post", "/api/v1/events/bulk", personas.admin, {"events": events})
    assert r.json() == {"received": 51, "created": 51, "duplicates": 0}
    r = call(client, "post", "/api/v1/events/bulk", personas.admin, {"events": events[:50]})
    assert r.json()["created"] == 0
    too_many = [events[0]] * 1001
    r = call(client, "post", "/api/v1/events/bulk", personas.admin, {"events": too_many})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "events"
    r = call(client, "post", "/api/v1/events/bulk", personas.admin,
             {"events": [{**events[0], "idempotency_key": None, "customer_id": 10**9}]})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "events.0.customer_id"
    assert Event.objects.filter(kind="page_viewed").count() == 50


def test_orders_and_timeline_paging(client, personas):
    c = make_customer(personas.admin, full_name="张伟")
    r = call(client, "post", "/api/v1/orders", personas.admin, {
        "customer_id": c.pk, "channel": "pos", "external_id": "POS-1",
        "lines": [{"sku": "TEA", "quantity": 2, "unit_price": "12.50"}]})
    assert r.status_code == 201 and r.json()["total"] == "25.00"
    r = call(client, "post", "/api/v1/orders", personas.admin, {
        "customer_id": c.pk, "channel": "pos", "external_id": "POS-1",
        "lines": [{"sku": "TEA", "unit_price": "1"}]})
    assert r.status_code == 409
    for i in range(5):
        call(client, "post", f"/api/v1/customers/{c.pk}/interactions", personas.admin,
             {"kind": "note", "summary": f"note {i}"})
    page = call(client, "get", f"/api/v1/customers/{c.pk}/events?limit=4", personas.admin).json()
    nxt = call(client, "get", f"/api/v1/customers/{c.pk}/events?limit=4&cursor="
               f"{page['next_cursor']}", personas.admin).json()
    ids = [e["id"] for e in page["items"] + nxt["items"]]
    assert len(ids) == len(set(ids)) == 7  # created + order + 5 notes


def test_unauthenticated_and_bad_token(client, personas):
    assert call(client, "get", "/api/v1/customers").status_code == 401
    r = call(client, "get", "/api/v1/customers",
             headers={"Authorization": "Bearer gx_dead_beef"})
    assert r.status_code == 401 and r["Content-Type"] == "application/problem+json"


@override_settings(GUANXI_API_RATE="3/m")
def test_rate_limit_returns_429_with_retry_after(client, personas):
    headers = bearer(personas.admin)
    codes = [call(client, "get", "/api/v1/me", headers=headers).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    r = call(client, "get", "/api/v1/me", headers=headers)
    assert int(r["Retry-After"]) > 0 and r.json()["status"] == 429


def test_openapi_docs_are_served_to_staff_only_without_a_cdn(client, personas):
    from django.contrib.staticfiles import finders

    # anonymous: the schema is 401, the docs page sends to the sign-in page
    assert client.get("/api/v1/openapi.json").status_code == 401
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 302 and "/accounts/login/" in docs["Location"]
    # a token reads the schema; a signed-in user the docs, from vendored files only
    r = client.get("/api/v1/openapi.json", headers=bearer(personas.analyst))
    assert r.json()["info"]["title"] == "Guanxi API"
    client.force_login(personas.analyst)
    page = client.get("/api/v1/docs").content.decode()
    assert "cdn" not in page.lower() and "unpkg" not in page and "http" not in page
    scripts = re.findall(r'(?:src|href)="/static/([^"]+)"', page)
    assert any("swagger-ui-dist" in s for s in scripts)
    assert all(finders.find(s) for s in scripts), scripts


def test_addresses_company_and_products(client, personas):
    r = call(client, "post", "/api/v1/customers", personas.admin, {
        "full_name": "Lena Müller", "company_name": "Müller Design GmbH",
        "addresses": [{"country": "de", "city": "Berlin", "street": "Torstraße 1"}]})
    assert r.status_code == 201 and r.json()["company"] == "Müller Design GmbH"
    cid = r.json()["id"]
    r = call(client, "post", f"/api/v1/customers/{cid}/addresses", personas.admin,
             {"kind": "shipping", "province": "浙江省", "city": "杭州市", "district": "西湖区",
              "is_primary": True})
    assert r.status_code == 201
    view = call(client, "get", f"/api/v1/customers/{cid}", personas.admin).json()
    assert [(a["country"], a["is_primary"]) for a in view["addresses"]] == [
        ("DE", False), ("CN", True)]
    r = call(client, "post", f"/api/v1/customers/{cid}/addresses", personas.admin,
             {"country": "Germany"})
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"country", "street"}
    r = call(client, "put", "/api/v1/products", personas.manager,
             {"sku": "TEA-1", "name": "龙井", "price": "268.00", "category": "茶叶"})
    assert r.status_code == 200 and r.json()["currency"] == "CNY"
    assert call(client, "put", "/api/v1/products", personas.analyst,
                {"sku": "X", "name": "x", "price": "1"}).status_code == 403
    r = call(client, "post", "/api/v1/orders", personas.admin,
             {"customer_id": cid, "lines": [{"sku": "TEA-1", "quantity": 2}]})
    assert r.json()["total"] == "536.00" and r.json()["lines"][0]["name"] == "龙井"
    assert [p["sku"] for p in call(client, "get", "/api/v1/products",
                                   personas.analyst).json()] == ["TEA-1"]


def test_browser_session_writes_need_the_csrf_token(personas):
    from django.test import Client

    c = make_customer(personas.admin, full_name="张伟")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(personas.admin)
    assert browser.get("/api/v1/me").status_code == 200
    url = f"/api/v1/customers/{c.pk}/tags"
    r = browser.post(url, data=json.dumps({"name": "VIP"}), content_type="application/json")
    assert r.status_code == 403
    browser.get("/customers/")  # the page sets the CSRF cookie
    token = browser.cookies["csrftoken"].value
    r = browser.post(url, data=json.dumps({"name": "VIP"}), content_type="application/json",
                     headers={"X-CSRFToken": token})
    assert r.status_code == 201
