"""The loyalty API as POS systems and shops call it: the documented contract, problem+json
errors, idempotency keys, and concurrent redemptions that never spend a point twice."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connections
from django.test import Client

from guanxi.loyalty import services
from guanxi.loyalty.models import CouponTemplate, Member, Reward
from guanxi.loyalty.tests.test_points import assert_ledger
from guanxi.testing import bearer, make_customer

pytestmark = pytest.mark.django_db


def _post(client, url, body, headers):
    return client.post(url, body, content_type="application/json", headers=headers)


def test_member_contract_get_redeem_adjust(client, programme, personas):
    customer = make_customer(personas.admin)
    pos = bearer(personas.service)
    url = f"/api/v1/loyalty/members/{customer.pk}"
    # a customer who never earned: the entry tier, nothing to spend
    got = client.get(url, headers=pos).json()
    assert (got["member"], got["tier"], got["balance"], got["next_tier"]) == (
        False, "普通", 0, "银卡")
    services.points_award(actor=None, customer=customer, points=300, reason="x")
    got = client.get(url, headers=pos).json()
    assert got["balance"] == 300 and got["expiring"] == []
    r = _post(client, f"{url}/redeem", {"points": 120, "idempotency_key": "pos-1"}, pos)
    assert r.status_code == 200
    assert r.json() == {"customer_id": customer.pk, "balance": 180, "reserved": 0, "debt": 0}
    again = _post(client, f"{url}/redeem", {"points": 120, "idempotency_key": "pos-1"}, pos)
    assert again.json() == r.json()
    short = _post(client, f"{url}/redeem", {"points": 181, "idempotency_key": "pos-2"}, pos)
    assert short.status_code == 409
    assert short["Content-Type"] == "application/problem+json"
    body = short.json()
    assert body["type"] == "/problems/insufficient_points"
    assert (body["balance"], body["wanted"]) == (180, 181)
    # adjust: managers and administrators only
    adjust = {"points": 50, "reason": "客诉补偿", "idempotency_key": "adj-1"}
    assert _post(client, f"{url}/adjust", adjust, pos).status_code == 403
    done = _post(client, f"{url}/adjust", adjust, bearer(personas.manager))
    assert done.status_code == 200 and done.json()["balance"] == 230
    bad = _post(client, f"{url}/adjust", {"points": 5, "reason": "", "idempotency_key": "a"},
                bearer(personas.manager))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "reason"
    assert _post(client, f"{url}/redeem", {"points": 0, "idempotency_key": "z"},
                 pos).status_code == 422
    assert client.get("/api/v1/loyalty/members/999999", headers=pos).status_code == 404


def test_read_scope_cannot_redeem(client, programme, personas):
    from guanxi.accounts.services import token_create

    customer = make_customer(personas.admin)
    _token, secret = token_create(actor=None, user=personas.service, name="ro",
                                  scopes=["loyalty:read"])
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get(f"/api/v1/loyalty/members/{customer.pk}",
                      headers=headers).status_code == 200
    r = _post(client, f"/api/v1/loyalty/members/{customer.pk}/redeem",
              {"points": 1, "idempotency_key": "k"}, headers)
    assert r.status_code == 403


def test_reservations_through_the_api(client, programme, personas):
    customer = make_customer(personas.admin)
    services.points_award(actor=None, customer=customer, points=100, reason="x")
    pos = bearer(personas.service)
    base = f"/api/v1/loyalty/members/{customer.pk}/reservations"
    held = _post(client, base, {"points": 80, "idempotency_key": "h1",
                                "reference": "SHOP-9"}, pos).json()
    assert (held["state"], held["balance"], held["reserved"]) == ("held", 20, 80)
    done = _post(client, f"{base}/{held['id']}/commit", {"idempotency_key": "c1"}, pos)
    assert done.status_code == 200 and done.json()["state"] == "committed"
    twice = _post(client, f"{base}/{held['id']}/release", {"idempotency_key": "r1"}, pos)
    assert twice.status_code == 409


def test_refund_reverses_the_orders_points(client, programme, personas):
    from guanxi.customers.services import OrderLineInput, order_create

    customer = make_customer(personas.admin)
    order = order_create(actor=personas.admin, customer=customer,
                         lines=[OrderLineInput(sku="A", unit_price=Decimal("80.00"))])
    services.points_earn_order(order=order)
    pos = bearer(personas.service)
    r = _post(client, f"/api/v1/loyalty/orders/{order.pk}/refund",
              {"amount": "20.00", "idempotency_key": "rf1"}, pos)
    assert r.json() == {"order_id": order.pk, "points_reversed": 20}
    again = _post(client, f"/api/v1/loyalty/orders/{order.pk}/refund",
                  {"amount": "20.00", "idempotency_key": "rf1"}, pos)
    assert again.json() == r.json()
    assert Member.objects.get(customer=customer).balance == 60


def test_rewards_and_coupons(client, programme, personas):
    customer = make_customer(personas.admin)
    other = make_customer(personas.admin, full_name="别人")
    services.points_award(actor=None, customer=customer, points=1000, reason="x")
    ten_off = CouponTemplate.objects.create(name="满100减10", kind="amount", value=10,
                                            min_spend=100, per_customer=0)
    reward = Reward.objects.create(name="10元券", points=300, coupon=ten_off, stock=1)
    pos = bearer(personas.service)
    r = _post(client, f"/api/v1/loyalty/members/{customer.pk}/rewards/{reward.pk}/redeem",
              {"idempotency_key": "rw1"}, pos)
    assert r.status_code == 200, r.content
    code = r.json()["coupon"]
    assert r.json()["balance"] == 700 and len(code) == 14
    gone = _post(client, f"/api/v1/loyalty/members/{customer.pk}/rewards/{reward.pk}/redeem",
                 {"idempotency_key": "rw2"}, pos)
    assert gone.status_code == 409 and gone.json()["type"] == "/problems/out_of_stock"
    assert Member.objects.get(customer=customer).balance == 700  # nothing spent
    items = [{"sku": "TEA", "amount": "99.00"}]
    check = _post(client, "/api/v1/loyalty/coupons/validate",
                  {"codes": [code], "customer_id": customer.pk, "items": items}, pos)
    assert check.status_code == 422 and "100" in check.json()["errors"][0]["message"]
    items = [{"sku": "TEA", "amount": "120.00"}]
    check = _post(client, "/api/v1/loyalty/coupons/validate",
                  {"codes": [code.lower()], "customer_id": customer.pk, "items": items}, pos)
    assert check.status_code == 200 and check.json()[0]["discount"] == "10.00"
    theirs = _post(client, "/api/v1/loyalty/coupons/redeem",
                   {"codes": [code], "customer_id": other.pk, "items": items,
                    "order_ref": "S1", "idempotency_key": "cr0"}, pos)
    assert theirs.status_code == 409
    used = _post(client, "/api/v1/loyalty/coupons/redeem",
                 {"codes": [code], "customer_id": customer.pk, "items": items,
                  "order_ref": "S1", "idempotency_key": "cr1"}, pos)
    assert used.status_code == 200 and used.json()["discount"] == "10.00"
    replay = _post(client, "/api/v1/loyalty/coupons/redeem",
                   {"codes": [code], "customer_id": customer.pk, "items": items,
                    "order_ref": "S1", "idempotency_key": "cr1"}, pos)
    assert replay.json() == used.json()
    twice = _post(client, "/api/v1/loyalty/coupons/redeem",
                  {"codes": [code], "customer_id": customer.pk, "items": items,
                   "order_ref": "S2", "idempotency_key": "cr2"}, pos)
    assert twice.status_code == 409
    assert _post(client, "/api/v1/loyalty/coupons/validate",
                 {"codes": ["NOPE-NOPE-NOPE"], "items": items}, pos).status_code == 404


def test_percent_coupon_cap_scope_and_stacking(client, programme, personas):
    from guanxi.loyalty.coupons import Item, code_show, coupon_issue, coupons_check

    customer = make_customer(personas.admin)
    pct = CouponTemplate.objects.create(name="茶叶八折", kind="percent", value=20, cap=30,
                                        categories="tea", per_customer=2, stackable=True)
    flat = CouponTemplate.objects.create(name="减5", kind="amount", value=5, stackable=False,
                                         per_customer=0)
    a = coupon_issue(actor=personas.service, template=pct, customer=customer)
    coupon_issue(actor=personas.service, template=pct, customer=customer)
    with pytest.raises(Exception) as limit:
        coupon_issue(actor=personas.service, template=pct, customer=customer)
    assert "2" in str(limit.value)
    b = coupon_issue(actor=personas.service, template=flat, customer=customer)
    items = [Item("T1", "tea", Decimal("100.00")), Item("C1", "cups", Decimal("500.00"))]
    assert coupons_check([a], customer, items, a.valid_from) == [Decimal("20.00")]
    big = [Item("T1", "tea", Decimal("400.00"))]
    assert coupons_check([a], customer, big, a.valid_from) == [Decimal("30")]  # capped
    with pytest.raises(Exception) as stack:
        coupons_check([a, b], customer, items, a.valid_from)
    assert code_show(b.code) in str(stack.value)
    # the issue key makes an automation's repeated step give the same coupon
    one = coupon_issue(actor=None, template=flat, customer=customer, key="auto:1")
    assert coupon_issue(actor=None, template=flat, customer=customer, key="auto:1") == one


@pytest.mark.django_db(transaction=True)
def test_concurrent_redemptions_never_overspend(programme, personas):
    # given a balance of 50 and 8 clients redeeming 1 point, 15 times each (120 requests)
    customer = make_customer(personas.admin)
    services.points_award(actor=None, customer=customer, points=50, reason="x")
    headers = bearer(personas.service)
    start = threading.Barrier(8)
    statuses: list[int] = []
    failures: list[BaseException] = []

    def redeem(worker: int) -> None:
        client = Client()
        start.wait()
        try:
            for i in range(15):
                r = _post(client, f"/api/v1/loyalty/members/{customer.pk}/redeem",
                          {"points": 1, "idempotency_key": f"{worker}-{i}"}, headers)
                statuses.append(r.status_code)
                if i == 0:  # a client retrying its first request changes nothing
                    again = _post(client, f"/api/v1/loyalty/members/{customer.pk}/redeem",
                                  {"points": 1, "idempotency_key": f"{worker}-{i}"}, headers)
                    assert again.status_code == r.status_code
        except BaseException as exc:
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=redeem, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # then exactly 50 succeed, the rest are 409, and the balance is 0
    assert not failures, failures
    assert sorted(set(statuses)) == [200, 409]
    assert statuses.count(200) == 50 and statuses.count(409) == 70
    member = Member.objects.get(customer=customer)
    assert member.balance == 0
    assert_ledger(member)
