"""In real Chromium: a member's own page shows their points and coupon; a member of staff
redeems a reward from the customer's loyalty page and the points go down."""

from __future__ import annotations

from decimal import Decimal

import pytest

from guanxi.loyalty import coupons, services
from guanxi.loyalty.models import CouponTemplate, Member, Reward
from guanxi.loyalty.views import member_link
from guanxi.testing import browser_sign_in, make_customer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_member_page_and_staff_redeem_a_reward(browser, live_server, personas, programme):
    customer = make_customer(personas.admin, full_name="林晓")
    services.points_award(actor=None, customer=customer, points=1500, reason="开卡礼")
    template = CouponTemplate.objects.create(name="生日券 满100减20", kind="amount", value=20,
                                             min_spend=100)
    coupon = coupons.coupon_issue(actor=None, template=template, customer=customer)
    reward = Reward.objects.create(name="青瓷茶杯", points=600, stock=2)
    errors: list[str] = []

    member = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}
                                 ).new_page()
    member.set_default_timeout(20000)
    member.on("pageerror", lambda e: errors.append(str(e)))
    member.goto(live_server.url + member_link(customer))
    assert "1500" in member.inner_text("[data-testid=member-points]")
    assert member.inner_text("[data-testid=member-tier]") == "银卡"
    listed = member.inner_text("[data-testid=member-coupons]")
    assert "生日券 满100减20" in listed and coupons.code_show(coupon.code) in listed

    staff = browser.new_context(locale="en-US").new_page()
    staff.set_default_timeout(20000)
    staff.on("pageerror", lambda e: errors.append(str(e)))
    browser_sign_in(staff, live_server.url, personas.service.username, "en")
    staff.goto(f"{live_server.url}/customers/{customer.pk}/")
    assert "1500" in staff.inner_text("[data-testid=loyalty-balance]")
    staff.click("[data-testid=loyalty-panel] >> text=Details")
    staff.select_option("[data-testid=reward-select]", label="青瓷茶杯 · 600 points · 2 left")
    staff.click("[data-testid=reward-redeem]")
    staff.wait_for_selector("text=青瓷茶杯 redeemed.")
    assert "900" in staff.inner_text("[data-testid=loyalty-balance]")
    assert Member.objects.get(customer=customer).balance == 900
    reward.refresh_from_db()
    assert reward.stock == 1

    member.reload()
    assert "900" in member.inner_text("[data-testid=member-points]")

    # a friend follows the member's referral link, the shop records the referral and
    # the friend's first paid order: both get their points
    from django.test import Client

    from guanxi.customers.services import OrderLineInput, order_create
    from guanxi.loyalty import registrations
    from guanxi.testing import bearer
    from guanxi.timeline.cursors import cursor_open

    cursor_open(registrations.CONSUMER)
    code = member.inner_text("[data-testid=member-referral-code]").strip()
    friend_page = browser.new_context(locale="zh-CN").new_page()
    friend_page.goto(member.get_attribute("a[href*='/r/']", "href")
                     .replace(settings_url(), live_server.url))
    assert friend_page.inner_text("[data-testid=referral-code]").strip() == code
    friend = make_customer(personas.admin, full_name="林晓的朋友")
    shop = Client()
    r = shop.post("/api/v1/loyalty/referrals", {"code": code, "customer_id": friend.pk},
                  content_type="application/json", headers=bearer(personas.service))
    assert r.status_code == 201, r.content
    order_create(actor=personas.admin, customer=friend,
                 lines=[OrderLineInput(sku="TEA", unit_price=Decimal("10.00"))])
    registrations.tick()  # the worker reads the order from the timeline
    member.reload()
    assert "1100" in member.inner_text("[data-testid=member-points]")  # 900 + 200
    assert Member.objects.get(customer=friend).balance == 110  # 10 earned + 100
    assert not errors, errors


def settings_url() -> str:
    from django.conf import settings

    return settings.GUANXI_PUBLIC_URL.rstrip("/")
