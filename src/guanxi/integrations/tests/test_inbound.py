import base64
import datetime as dt
import hashlib
import hmac
import json

import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from guanxi.customers.models import Customer, Event, Order
from guanxi.integrations.models import InboundSource
from guanxi.integrations.services import source_save
from guanxi.testing import make_customer

pytestmark = pytest.mark.django_db
SECRET = "shpss_0123456789abcdef"

SHOPIFY = {"id": 820982911946154508, "email": "jon@example.com", "currency": "CNY",
           "created_at": "2026-11-30T10:00:00+08:00", "financial_status": "paid",
           "customer": {"first_name": "Jon", "last_name": "Snow", "phone": "+8613900001111"},
           "line_items": [{"sku": "TEA-1", "title": "龙井", "quantity": 2, "price": "99.00"}]}
WOO = {"id": 727, "status": "processing", "currency": "CNY",
       "date_created_gmt": "2026-11-30T02:00:00",
       "billing": {"first_name": "娜", "last_name": "李", "email": "li@example.com",
                   "phone": "13800138000"},
       "line_items": [{"sku": "CUP-2", "name": "茶杯", "quantity": 1, "price": 35}]}


def sign(body: bytes) -> str:
    return base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()


@pytest.fixture
def shop(personas):
    return source_save(actor=personas.manager, slug="myshop", name="天猫店",
                       kind="shopify", secret=SECRET, acts_as=personas.manager)


def post(client, slug, payload, **headers):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return client.post(f"/hooks/{slug}", data=body, content_type="application/json",
                       headers=headers)


def test_a_shopify_order_is_recorded_once(client, shop):
    body = json.dumps(SHOPIFY).encode()
    r = post(client, "myshop", body, **{"X-Shopify-Hmac-Sha256": sign(body),
                                       "X-Shopify-Topic": "orders/create"})
    assert r.status_code == 201, r.content
    customer = Customer.objects.get(pk=r.json()["customer_id"])
    assert customer.source == "shop" and Order.objects.count() == 1
    order = Order.objects.get()
    assert str(order.total) == "198.00" and order.channel == "shop"
    again = post(client, "myshop", body, **{"X-Shopify-Hmac-Sha256": sign(body)})
    assert again.status_code == 200 and again.json()["duplicate"]
    assert Order.objects.count() == 1


def test_a_known_buyer_is_matched_by_email(client, shop, personas):
    known = make_customer(personas.manager, full_name="Jon Snow", emails=["jon@example.com"])
    body = json.dumps(SHOPIFY).encode()
    r = post(client, "myshop", body, **{"X-Shopify-Hmac-Sha256": sign(body)})
    assert r.json()["customer_id"] == known.pk


def test_a_bad_signature_is_401_and_writes_nothing(client, shop):
    body = json.dumps(SHOPIFY).encode()
    r = post(client, "myshop", body, **{"X-Shopify-Hmac-Sha256": sign(b"other")})
    assert r.status_code == 401 and r["Content-Type"] == "application/problem+json"
    assert not Order.objects.exists() and not Customer.objects.exists()


def test_a_malformed_order_is_422_with_the_field_path(client, shop):
    bad = {**SHOPIFY, "line_items": [{"sku": "TEA-1", "quantity": 0, "price": "x"},
                                     {"title": "no sku", "quantity": 1, "price": "1"}]}
    body = json.dumps(bad).encode()
    r = post(client, "myshop", body, **{"X-Shopify-Hmac-Sha256": sign(body)})
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"line_items.0.quantity", "line_items.1.sku"} <= fields
    assert not Customer.objects.exists()


def test_a_woocommerce_order(client, personas):
    source_save(actor=personas.manager, slug="woo", name="官网", kind="woocommerce",
                secret=SECRET, acts_as=personas.manager)
    body = json.dumps(WOO).encode()
    r = post(client, "woo", body, **{"X-WC-Webhook-Signature": sign(body)})
    assert r.status_code == 201, r.content
    assert Order.objects.get().external_id == "woo:727"


def test_guanxi_events_signed_with_standard_webhooks(client, personas):
    from guanxi.integrations.webhooks import new_secret
    secret = new_secret()
    source_save(actor=personas.manager, slug="app", name="App", kind="guanxi", secret=secret,
                acts_as=personas.manager)
    customer = make_customer(personas.manager)
    payload = json.dumps({"type": "events", "data": {"events": [
        {"customer_id": customer.pk, "kind": "custom.app_opened",
         "occurred_at": "2026-11-30T10:00:00+08:00", "data": {"screen": "home"}}]}})
    now = timezone.now()
    signature = Webhook(secret).sign("evt_1", now, payload)
    headers = {"webhook-id": "evt_1", "webhook-timestamp": str(int(now.timestamp())),
               "webhook-signature": signature}
    r = post(client, "app", payload.encode(), **headers)
    assert r.status_code == 201, r.content
    assert Event.objects.filter(kind="custom.app_opened").count() == 1
    assert post(client, "app", payload.encode(), **headers).status_code == 200
    assert Event.objects.filter(kind="custom.app_opened").count() == 1
    stale = {**headers, "webhook-timestamp": str(int((now - dt.timedelta(hours=1))
                                                     .timestamp()))}
    assert post(client, "app", payload.encode(), **stale).status_code == 401


def test_unknown_source_is_404(client, db):
    assert post(client, "nope", {}).status_code == 404
    assert InboundSource.objects.count() == 0
