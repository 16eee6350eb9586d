"""Regression tests of the fix-first review: inputs that gave 500s or wrote data they
should not have (issue 10)."""

from __future__ import annotations

import json

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from guanxi.customers.models import Customer, Order, Tag
from guanxi.testing import bearer, make_customer
from guanxi.web.middleware import AtomicWritesMiddleware

pytestmark = pytest.mark.django_db


def call(client, method, url, user=None, body=None, raw=None, content_type="application/json"):
    h = bearer(user) if user is not None else {}
    kwargs = {"headers": h}
    if body is not None:
        kwargs.update(data=json.dumps(body), content_type=content_type)
    if raw is not None:
        kwargs.update(data=raw, content_type=content_type)
    return getattr(client, method)(url, **kwargs)


def test_an_order_too_large_for_its_columns_is_422_and_writes_nothing(client, personas):
    # given
    c = make_customer(personas.admin, full_name="张伟")
    # when a line total of 10^15 is sent
    r = call(client, "post", "/api/v1/orders", personas.admin, {
        "customer_id": c.pk, "lines": [
            {"sku": "TEA", "quantity": 100000, "unit_price": "9999999999.99"}]})
    # then
    assert r.status_code == 422, r.content
    assert r["Content-Type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["field"] == "lines.0.quantity"
    assert not Order.objects.exists()
    # and every page that reads orders still works
    for url in ("/api/v1/orders", f"/api/v1/customers/{c.pk}"):
        assert call(client, "get", url, personas.admin).status_code == 200
    client.force_login(personas.admin)
    assert client.get(f"/customers/{c.pk}/").status_code == 200


def test_many_lines_whose_sum_overflows_the_order_total_are_422(client, personas):
    c = make_customer(personas.admin, full_name="张伟")
    line = {"sku": "TEA", "quantity": 100, "unit_price": "9999999999.99"}
    r = call(client, "post", "/api/v1/orders", personas.admin,
             {"customer_id": c.pk, "lines": [line] * 2})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "lines"
    assert not Order.objects.exists()


def test_a_server_error_rolls_back_what_the_request_wrote(personas):
    # given a view that writes and then answers 500
    def view(request):
        Tag.objects.create(name="half-written")
        return HttpResponse(status=500)

    # when a JSON call and a form post answer 500
    for content_type in ("application/json", "application/x-www-form-urlencoded"):
        request = RequestFactory().post("/x", data="", content_type=content_type)
        response = AtomicWritesMiddleware(view)(request)
        # then nothing they wrote stays
        assert response.status_code == 500
        assert not Tag.objects.filter(name="half-written").exists()


def test_unexpected_api_errors_are_problem_json(client, personas, monkeypatch):
    from guanxi.customers import api

    def boom(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(api.services, "customer_create", boom)
    r = call(client, "post", "/api/v1/customers", personas.admin, {"full_name": "张伟"})
    assert r.status_code == 500
    assert r["Content-Type"].startswith("application/problem+json")
    assert not Customer.objects.exists()


@pytest.mark.parametrize("field", ["family_name", "display_name", "region", "occupation",
                                   "lunar_birthday", "gender", "attributes"])
def test_patching_a_not_null_field_with_null_is_422_naming_it(client, personas, field):
    c = make_customer(personas.admin, full_name="张伟", occupation="工程师")
    r = call(client, "patch", f"/api/v1/customers/{c.pk}", personas.admin, {field: None})
    assert r.status_code == 422, r.content
    assert r.json()["errors"][0]["field"] == field
    c.refresh_from_db()
    assert c.occupation == "工程师"


@pytest.mark.parametrize("method,url,body", [
    ("patch", "/api/v1/customers/{c}", {"owner_id": 10**20}),
    ("post", "/api/v1/customers", {"full_name": "李娜", "owner_id": 10**20}),
    ("get", "/api/v1/customers?segment_id=100000000000000000000", None),
    ("get", "/api/v1/customers/100000000000000000000", None),
    ("get", "/api/v1/scores?segment_id=100000000000000000000", None),
    ("post", "/api/v1/customers/{c}/merge", {"other_id": 10**20}),
    ("post", "/api/v1/events/bulk", {"events": [
        {"customer_id": 10**30, "kind": "page_viewed", "occurred_at": "2024-01-01T00:00:00Z"}]}),
    ("post", "/api/v1/events/bulk", {"events": [
        {"customer_id": "{c}", "kind": "page_viewed",
         "occurred_at": "0001-01-01T00:00:00+08:00"}]}),
    ("post", "/api/v1/orders", {"customer_id": "{c}", "placed_at": "9999-12-31T23:00:00-08:00",
                                "lines": [{"sku": "T", "unit_price": "1"}]}),
])
def test_numbers_and_times_out_of_range_are_422_not_500(client, personas, method, url, body):
    c = make_customer(personas.admin, full_name="张伟")
    url = url.replace("{c}", str(c.pk))
    if body is not None:
        body = json.loads(json.dumps(body).replace('"{c}"', str(c.pk)))
    r = call(client, method, url, personas.admin, body)
    assert r.status_code == 422, r.content
    assert r["Content-Type"].startswith("application/problem+json")


@pytest.mark.parametrize("path", ["/api/v1/customers", "/api/v1/scores",
                                  "/api/v1/orders", "/api/v1/customers/{c}/events"])
@pytest.mark.parametrize("values", [[10**20], ["x"], [None], [1.5], [[1]],
                                    ["0001-01-01T00:00:00+08:00", 1]])
def test_cursors_decoding_to_huge_or_wrong_values_are_422(client, personas, path, values):
    from guanxi.core.cursors import encode_cursor

    c = make_customer(personas.admin, full_name="张伟")
    url = path.replace("{c}", str(c.pk)) + "?cursor=" + encode_cursor(values)
    r = call(client, "get", url, personas.admin)
    assert r.status_code == 422, (url, r.content)
    assert r.json()["errors"][0]["field"] == "cursor"


@pytest.mark.parametrize("rule", [
    {"field": "region", "operator": "equals", "value": 5},
    {"field": "stage", "operator": "equals", "value": "bogus"},
    {"field": "tier", "operator": "in", "value": [{"a": 1}]},
    {"field": "frequency", "operator": "gte", "value": 10**30},
    {"field": "tag", "operator": "has", "value": None},
    {"field": "event", "operator": "within_days", "value": {"days": True, "kind": "x"}},
    {"field": "bought_category", "operator": "within_days", "value": {"days": 30}},
    {"field": "region", "operator": "equals", "value": "上海", "extra": 1},
])
def test_invalid_segment_rules_are_422_naming_the_rule(client, personas, rule):
    r = call(client, "post", "/api/v1/segments/count", personas.admin,
             {"rules": {"op": "and", "rules": [rule]}})
    assert r.status_code == 422, r.content
    assert r.json()["errors"][0]["field"].startswith("rules.rules.0")


def test_a_text_plain_body_is_not_parsed_as_json(client, personas):
    r = call(client, "post", "/api/v1/customers", personas.admin,
             raw=json.dumps({"full_name": "张伟"}), content_type="text/plain")
    assert r.status_code == 415
    assert r["Content-Type"].startswith("application/problem+json")
    assert not Customer.objects.exists()


@pytest.mark.parametrize("raw", ['{"full_name": ', "[" * 50_000])
def test_malformed_or_deeply_nested_json_is_400_problem_json(client, personas, raw):
    r = call(client, "post", "/api/v1/customers", personas.admin, raw=raw)
    assert r.status_code == 400
    assert r["Content-Type"].startswith("application/problem+json")


def test_unknown_api_paths_are_problem_json_not_html(client, personas):
    r = call(client, "get", "/api/v1/no-such-thing", personas.admin)
    assert r.status_code == 404
    assert r["Content-Type"].startswith("application/problem+json")


def test_sales_cannot_create_a_customer_owned_by_another_team(client, personas):
    # when sales (team East) gives a new customer to an outsider (team West)
    r = call(client, "post", "/api/v1/customers", personas.sales,
             {"full_name": "李娜", "owner_id": personas.outsider.pk})
    # then it is refused and nothing is stored
    assert r.status_code == 403, r.content
    assert not Customer.objects.exists()
    # a teammate is fine
    r = call(client, "post", "/api/v1/customers", personas.sales,
             {"full_name": "李娜", "owner_id": personas.teammate.pk})
    assert r.status_code == 201
    assert Customer.objects.get().owner_id == personas.teammate.pk


def test_exports_survive_control_characters_and_neutralise_formulas(client, personas):
    import io

    from openpyxl import load_workbook

    make_customer(personas.admin, full_name="张伟", occupation="ab\x01c\x0bd")
    make_customer(personas.admin, full_name="李娜", occupation="＝HYPERLINK(\"x\")")
    client.force_login(personas.admin)
    r = client.get("/customers/export.csv?format=xlsx&everyone=1")
    assert r.status_code == 200
    book = load_workbook(io.BytesIO(r.content))
    values = [c.value for row in book.active.iter_rows() for c in row]
    assert "abcd" in values and "'＝HYPERLINK(\"x\")" in values
    csv_text = b"".join(client.get("/customers/export.csv?everyone=1").streaming_content).decode()
    assert "\x01" not in csv_text and "'＝HYPERLINK" in csv_text


def test_a_nul_character_anywhere_in_a_body_is_422_naming_the_field(client, personas):
    r = call(client, "post", "/api/v1/customers", personas.admin,
             {"full_name": "张伟", "attributes": {"notes": ["ok", "a\x00b"]}})
    assert r.status_code == 422, r.content
    assert r.json()["errors"][0]["field"] == "attributes.notes.1"
    assert not Customer.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_patches_lose_no_update(personas):
    # given 20 clients each adding their own attribute key with If-Match, retrying on 412
    import threading

    from django.db import connections
    from django.test import Client

    c = make_customer(personas.admin, full_name="张伟")
    headers = bearer(personas.admin)
    start = threading.Barrier(10)
    statuses: list[int] = []
    failures: list[BaseException] = []

    def client_adds(key: str) -> None:
        client = Client()
        start.wait()
        try:
            for _attempt in range(50):
                got = client.get(f"/api/v1/customers/{c.pk}", headers=headers)
                attributes = got.json()["customer"]["attributes"]
                attributes[key] = True
                r = client.patch(f"/api/v1/customers/{c.pk}", {"attributes": attributes},
                                 content_type="application/json",
                                 headers={**headers, "If-Match": got["ETag"]})
                statuses.append(r.status_code)
                if r.status_code == 200:
                    return
                assert r.status_code == 412, r.content
        except BaseException as exc:
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=client_adds, args=(f"k{i}",)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # then every key is there
    assert not failures, failures
    c.refresh_from_db()
    assert sorted(c.attributes) == sorted(f"k{i}" for i in range(10)), statuses
    assert c.version == 11


def test_a_stale_if_match_is_412_and_changes_nothing(client, personas):
    c = make_customer(personas.admin, full_name="张伟", occupation="教师")
    got = call(client, "get", f"/api/v1/customers/{c.pk}", personas.admin)
    etag = got["ETag"]
    assert etag == '"1"'
    ok = client.patch(f"/api/v1/customers/{c.pk}", {"occupation": "医生"},
                      content_type="application/json",
                      headers={**bearer(personas.admin), "If-Match": etag})
    assert ok.status_code == 200 and ok["ETag"] == '"2"'
    stale = client.patch(f"/api/v1/customers/{c.pk}", {"occupation": "律师"},
                         content_type="application/json",
                         headers={**bearer(personas.admin), "If-Match": etag})
    assert stale.status_code == 412
    assert stale.json()["current_version"] == 2
    c.refresh_from_db()
    assert c.occupation == "医生"


def test_the_edit_form_warns_when_someone_saved_first(client, personas):
    from guanxi.customers import services as cs

    c = make_customer(personas.admin, full_name="张伟", occupation="教师")
    client.force_login(personas.manager)
    form = client.get(f"/customers/{c.pk}/edit/").content.decode()
    assert 'name="version" value="1"' in form
    cs.customer_update(actor=personas.admin, customer=c, occupation="医生")
    data = {"family_name": "张", "given_name": "伟", "display_name": "张伟",
            "gender": "unknown", "region": "", "occupation": "律师",
            "preferred_language": "zh-hans", "preferred_channel": "", "source": "other",
            "version": "1"}
    r = client.post(f"/customers/{c.pk}/edit/", data)
    assert r.status_code == 412
    assert "Someone else changed this customer" in r.content.decode()
    c.refresh_from_db()
    assert c.occupation == "医生"
    # saving again, knowingly, at the current version
    r = client.post(f"/customers/{c.pk}/edit/", {**data, "version": "2"})
    assert r.status_code == 302
    c.refresh_from_db()
    assert c.occupation == "律师"


@pytest.mark.parametrize("url", ["/api/v1/merges?limit=-5", "/api/v1/customers?limit=0",
                                 "/api/v1/duplicates?limit=-1"])
def test_a_negative_or_zero_limit_is_422(client, personas, url):
    r = call(client, "get", url, personas.admin)
    assert r.status_code == 422, r.content


@pytest.mark.parametrize("currency", ["EURO", "€€€", "1AB"])
def test_a_product_with_a_bad_currency_is_422(client, personas, currency):
    r = call(client, "put", "/api/v1/products", personas.admin,
             {"sku": "T1", "name": "茶", "price": "1.00", "currency": currency})
    assert r.status_code == 422, r.content
    assert r.json()["errors"][0]["field"] == "currency"
