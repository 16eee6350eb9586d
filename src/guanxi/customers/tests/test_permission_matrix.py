"""Every role × every endpoint and page × own / other team's record.

Expected outcomes come from the role table in docs/permissions.md, written out here
independently of guanxi.core.permissions so a change to either shows up as a failure."""

from __future__ import annotations

import json

import pytest

from guanxi.testing import bearer, grant_marketing, make_customer

pytestmark = pytest.mark.django_db

ROLES = ["admin", "manager", "sales", "service", "marketing", "analyst", "norole"]
ALLOWED = {  # role -> operations allowed on a customer that role can see
    "admin": {"view", "create", "change", "delete", "export", "identity", "consent", "tag",
              "order", "event", "interaction"},
    "manager": {"view", "create", "change", "delete", "export", "identity", "consent", "tag",
                "order", "event", "interaction"},
    "sales": {"view", "create", "change", "identity", "consent", "tag", "order", "event",
              "interaction"},
    "service": {"view", "change", "identity", "consent", "tag", "event", "interaction"},
    "marketing": {"view", "export", "consent", "tag"},
    "analyst": {"view", "export"},
    "norole": set(),
}
# (operation, method, url, body, success status)
API_CASES = [
    ("view", "get", "/api/v1/customers/{id}", None, 200),
    ("view", "get", "/api/v1/customers/{id}/events", None, 200),
    ("view", "get", "/api/v1/customers/{id}/identities", None, 200),
    ("view", "get", "/api/v1/customers/{id}/consents", None, 200),
    ("view", "get", "/api/v1/customers/{id}/tags", None, 200),
    ("view", "get", "/api/v1/orders?customer_id={id}", None, 200),
    ("change", "patch", "/api/v1/customers/{id}", {"region": "北京市"}, 200),
    ("identity", "post", "/api/v1/customers/{id}/identities",
     {"kind": "external", "system": "shop", "value": "S-{id}"}, 201),
    ("consent", "put", "/api/v1/customers/{id}/consents",
     {"channel": "sms", "purpose": "marketing", "granted": True}, 200),
    ("tag", "post", "/api/v1/customers/{id}/tags", {"name": "VIP"}, 201),
    ("order", "post", "/api/v1/orders",
     {"customer_id": "{id}", "lines": [{"sku": "X", "unit_price": "1.00"}]}, 201),
    ("event", "post", "/api/v1/events/bulk",
     {"events": [{"customer_id": "{id}", "kind": "page_viewed",
                  "occurred_at": "2026-01-01T00:00:00Z"}]}, 200),
    ("interaction", "post", "/api/v1/customers/{id}/interactions",
     {"kind": "note", "summary": "hello"}, 201),
    ("delete", "delete", "/api/v1/customers/{id}", None, 204),
]
PAGE_CASES = [
    ("view", "get", "/customers/{id}/", None, 200),
    ("view", "get", "/customers/{id}/timeline/", None, 200),
    ("change", "get", "/customers/{id}/edit/", None, 200),
    ("interaction", "post", "/customers/{id}/interactions/",
     {"kind": "note", "summary": "hi"}, 302),
    ("tag", "post", "/customers/{id}/tags/", {"name": "VIP"}, 302),
    ("consent", "post", "/customers/{id}/consents/",
     {"channel": "sms", "purpose": "marketing", "granted": "1"}, 302),
]


def _fill(value, cid):
    text = json.dumps(value).replace('"{id}"', str(cid)).replace("{id}", str(cid))
    return json.loads(text)


def _expected(role, op, whose, success):
    if op not in ALLOWED[role]:
        return {403} if role != "sales" or whose == "own" else {403, 404}
    if role == "sales" and whose == "other":
        return {404}  # another team's customer does not exist for them
    return {success}


@pytest.fixture
def records(personas):
    own = make_customer(personas.admin, full_name="本队客户", owner=personas.teammate)
    other = make_customer(personas.admin, full_name="他队客户", owner=personas.outsider)
    return {"own": own, "other": other}


@pytest.mark.parametrize("whose", ["own", "other"])
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("op", "method", "url", "body", "success"), API_CASES,
                         ids=[f"{c[1]} {c[2]}" for c in API_CASES])
def test_api_matrix(client, personas, records, role, whose, op, method, url, body, success):
    cid = records[whose].pk
    kwargs = {"headers": bearer(personas.by_role(role))}
    if body is not None:
        kwargs.update(data=json.dumps(_fill(body, cid)), content_type="application/json")
    r = getattr(client, method)(url.replace("{id}", str(cid)), **kwargs)
    if op == "view" and "orders?" in url and role == "sales" and whose == "other":
        assert r.status_code == 200 and r.json()["items"] == []  # filtered, not an error
        return
    if op == "event" and role == "sales" and whose == "other":
        # a batch names customers by id: an invisible one is an unknown id at its path
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "events.0.customer_id"
        return
    assert r.status_code in _expected(role, op, whose, success), r.content


@pytest.mark.parametrize("whose", ["own", "other"])
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("op", "method", "url", "body", "success"), PAGE_CASES,
                         ids=[f"{c[1]} {c[2]}" for c in PAGE_CASES])
def test_page_matrix(client, personas, records, role, whose, op, method, url, body, success):
    client.force_login(personas.by_role(role))
    cid = records[whose].pk
    r = getattr(client, method)(url.replace("{id}", str(cid)), data=body or {})
    assert r.status_code in _expected(role, op, whose, success)


@pytest.mark.parametrize("role", ROLES)
def test_list_export_and_create_pages(client, personas, records, role):
    client.force_login(personas.by_role(role))
    listing = client.get("/customers/")
    # the export holds the customers who agree to marketing (the marketing role's
    # always does): both teams' customers agree here
    grant_marketing(personas.admin, *records.values())
    export = client.get("/customers/export.csv")
    create = client.get("/customers/new/")
    assert listing.status_code == (200 if "view" in ALLOWED[role] else 403)
    assert export.status_code == (200 if "export" in ALLOWED[role] else 403)
    assert create.status_code == (200 if "create" in ALLOWED[role] else 403)
    if role == "sales":
        names = [c.display_name for c in listing.context["page"].items]
        assert names == ["本队客户"]  # the teammate's customer, not the other team's
    if export.status_code == 200:
        body = b"".join(export.streaming_content).decode()
        assert ("他队客户" in body) is (role != "sales")


def test_anonymous_is_sent_to_login(client, records):
    r = client.get(f"/customers/{records['own'].pk}/")
    assert r.status_code == 302 and "/accounts/login/" in r["Location"]
