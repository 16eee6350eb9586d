"""In real Chromium: a member's own page shows their points and coupon; a member of staff
redeems a reward from the customer's loyalty page and the points go down."""

from __future__ import annotations

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
    assert not errors, errors
