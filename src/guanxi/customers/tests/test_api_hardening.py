"""Regression tests of the fix-first review: inputs that gave 500s or wrote data they
should not have (issue 10)."""

from __future__ import annotations

import json

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from guanxi.core.testing import bearer, make_customer
from guanxi.customers.models import Customer, Order, Tag
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

    # when
    response = AtomicWritesMiddleware(view)(RequestFactory().post("/x"))
    # then
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
