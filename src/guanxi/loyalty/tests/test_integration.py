"""Loyalty with the rest of Guanxi: orders from anywhere earn through the timeline, a merge
joins two memberships, automation actions award points and issue coupons once, message
templates show a member's points and coupon, and the staff pages work."""

from __future__ import annotations

from decimal import Decimal

import pytest

from guanxi.core.automation import action_type
from guanxi.customers.services import OrderLineInput, order_create, order_set_status
from guanxi.dataquality.services import customers_merge
from guanxi.loyalty import coupons, registrations, services
from guanxi.loyalty.models import Coupon, CouponTemplate, Journal, Member, Reward
from guanxi.loyalty.tests.test_points import assert_ledger
from guanxi.testing import make_customer


def _order(actor, customer, amount):
    return order_create(actor=actor, customer=customer,
                        lines=[OrderLineInput(sku="TEA", unit_price=Decimal(amount))])


@pytest.mark.django_db(transaction=True)
def test_orders_earn_through_the_timeline_and_refunds_take_back(programme, personas):
    from guanxi.timeline.cursors import cursor_open

    cursor_open(registrations.CONSUMER)  # the worker started before these orders
    customer = make_customer(personas.admin)
    order = _order(personas.admin, customer, "88.00")
    registrations.tick()
    assert Member.objects.get(customer=customer).balance == 88
    registrations.tick()  # read again: nothing new, nothing twice
    assert Member.objects.get(customer=customer).balance == 88
    order_set_status(actor=personas.admin, order=order, status="refunded")
    registrations.tick()
    member = Member.objects.get(customer=customer)
    assert member.balance == 0
    assert_ledger(member)


@pytest.mark.django_db
def test_a_merge_joins_the_two_memberships(programme, personas):
    a = make_customer(personas.admin, full_name="王芳")
    b = make_customer(personas.admin, full_name="王 芳")
    services.points_award(actor=None, customer=a, points=300, reason="x")
    services.points_award(actor=None, customer=b, points=1200, reason="y")  # silver
    services.points_redeem(actor=personas.service, customer=b, points=100,
                           idempotency_key="b1")
    customers_merge(actor=personas.admin, survivor=a, absorbed=b)
    member = Member.objects.get(customer=a)
    assert member.balance == 1400 and member.tier.name == "银卡"
    assert Member.objects.count() == 1
    assert Journal.objects.filter(member=member).count() == 3
    assert_ledger(member)


@pytest.mark.django_db
def test_automation_actions_run_once_per_step_key(programme, personas):
    customer = make_customer(personas.admin)
    award = action_type("loyalty.award_points").run
    for _ in range(2):
        out = award(customer_id=customer.pk, config={"points": 88, "reason": "生日"},
                    key="1:2:s1:0")
    assert out["balance"] == 88
    from guanxi.loyalty.models import Tier

    Tier.objects.filter(name="普通").update(birthday_points=30)
    gift = action_type("loyalty.birthday_points").run
    for _ in range(2):
        given = gift(customer_id=customer.pk, config={}, key="1:2:s2:0")
    assert given["balance"] == 118  # 88 + the entry tier's 30, once
    birthday = CouponTemplate.objects.create(name="生日券", kind="amount", value=20)
    issue = action_type("loyalty.issue_coupon").run
    first = issue(customer_id=customer.pk, config={"template": str(birthday.pk)}, key="k")
    again = issue(customer_id=customer.pk, config={"template": str(birthday.pk)}, key="k")
    assert first == again and Coupon.objects.count() == 1


@pytest.mark.django_db
def test_message_templates_show_points_and_the_coupon_code(programme, personas):
    from guanxi.engagement.render import check, extra_context, render

    customer = make_customer(personas.admin)
    services.points_award(actor=None, customer=customer, points=520, reason="x")
    template = CouponTemplate.objects.create(name="满100减20", kind="amount", value=20)
    coupon = coupons.coupon_issue(actor=None, template=template, customer=customer)
    text = "您有{{ member.points }}积分，券码{{ coupon.code }}（{{ coupon.name }}）"
    check(text)
    context = extra_context(customer, [text])
    assert render(text, context) == (f"您有520积分，券码{coupons.code_show(coupon.code)}"
                                     "（满100减20）")


@pytest.mark.django_db
def test_staff_pages_panel_and_actions(client, programme, personas):
    customer = make_customer(personas.admin, full_name="赵敏")
    services.points_award(actor=None, customer=customer, points=500, reason="x")
    reward = Reward.objects.create(name="茶杯", points=200, stock=3)
    client.force_login(personas.manager)
    detail = client.get(f"/customers/{customer.pk}/")
    assert detail.status_code == 200 and b'data-testid="loyalty-panel"' in detail.content
    assert "500" in detail.content.decode()
    page = client.get(f"/loyalty/customers/{customer.pk}/")
    assert page.status_code == 200
    r = client.post(f"/loyalty/customers/{customer.pk}/act",
                    {"what": "reward", "reward": reward.pk, "key": "once"})
    assert r.status_code == 302
    client.post(f"/loyalty/customers/{customer.pk}/act",  # a double click
                {"what": "reward", "reward": reward.pk, "key": "once"})
    assert Member.objects.get(customer=customer).balance == 300
    reward.refresh_from_db()
    assert reward.stock == 2
    r = client.post(f"/loyalty/customers/{customer.pk}/act",
                    {"what": "adjust", "points": "abc", "reason": "x", "key": "a1"},
                    follow=True)
    assert "A whole number of points" in r.content.decode()
    dashboard = client.get("/loyalty/")
    assert dashboard.status_code == 200
    assert dashboard.context["stats"]["liability"] == 300
    assert dashboard.context["stats"]["redeemed"] == 200


@pytest.mark.django_db
def test_settings_save_with_field_errors(client, programme, personas):
    client.force_login(personas.manager)
    bad = client.post("/loyalty/settings/", {"section": "coupon", "name": "折扣",
                                             "kind": "percent", "value": "150",
                                             "valid_days": "30", "per_customer": "1",
                                             "cap": "0", "min_spend": "0"})
    assert bad.status_code == 422
    assert any(e.field == "value" for e in bad.context["errors"])
    ok = client.post("/loyalty/settings/", {"section": "tier", "name": "钻石",
                                            "threshold": "20000", "multiplier": "2",
                                            "birthday_points": "500"})
    assert ok.status_code == 302
    from guanxi.loyalty.models import Tier

    assert Tier.objects.filter(name="钻石").exists()
    one = CouponTemplate.objects.create(name="码", kind="amount", value=1)
    csv = client.post(f"/loyalty/coupons/{one.pk}/batch", {"count": "25"})
    rows = csv.content.decode().strip().splitlines()
    assert len(rows) == 26 and len(set(rows)) == 26


@pytest.mark.django_db
def test_member_page_behind_a_signed_link(client, programme, personas):
    from guanxi.loyalty.views import member_link

    customer = make_customer(personas.admin, full_name="周杰")
    services.points_award(actor=None, customer=customer, points=1500, reason="x")
    template = CouponTemplate.objects.create(name="生日券", kind="amount", value=20)
    coupon = coupons.coupon_issue(actor=None, template=template, customer=customer)
    link = member_link(customer)
    page = client.get(link)
    text = page.content.decode()
    assert page.status_code == 200
    assert "1500" in text and "银卡" in text and coupons.code_show(coupon.code) in text
    assert client.get(link[:-2] + "xx").status_code == 404
