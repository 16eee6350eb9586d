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


def test_member_registers_for_an_event_draws_and_staff_check_them_in(
        browser, live_server, personas, programme):
    """The member registers on their page (the second member waits in line), plays the
    lottery; staff open the link of the member's QR code and check them in; the member
    page thanks them and shows the attendance points."""
    import datetime as dt

    from django.utils import timezone

    from guanxi.loyalty import draws, events
    from guanxi.loyalty.models import Registration, Ticket

    customer = make_customer(personas.admin, full_name="林晓")
    other = make_customer(personas.admin, full_name="王芳")
    services.points_award(actor=None, customer=customer, points=500, reason="开卡礼")
    now = timezone.localtime()
    event = events.event_save(actor=personas.manager, data={
        "name": "龙井品茶会", "location": "杭州店", "capacity": 1, "points": 50,
        "open_to_members": "on", "starts_at": now + dt.timedelta(hours=2),
        "ends_at": now + dt.timedelta(hours=4)})
    draws.draw_save(actor=personas.manager, name="中秋抽奖", cost=100, per_member=3,
                    starts_at=timezone.now() - dt.timedelta(hours=1),
                    ends_at=timezone.now() + dt.timedelta(days=1),
                    prizes=draws.parse_prizes("50积分, 1, , 50\n谢谢参与, 1"))
    errors: list[str] = []
    member = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}
                                 ).new_page()
    member.set_default_timeout(20000)
    member.on("pageerror", lambda e: errors.append(str(e)))
    member.goto(live_server.url + member_link(customer))
    assert "龙井品茶会" in member.inner_text("[data-testid=member-event]")
    member.click("[data-testid=member-event-register]")
    member.wait_for_selector("[data-testid=member-event-qr] svg")
    assert "报名成功" in member.inner_text("[data-testid=member-event-state]")
    member.click("[data-testid=draw-play]")
    outcome = member.inner_text("[data-testid=draw-outcome]")
    assert "50积分" in outcome or "谢谢" in outcome
    assert Ticket.objects.filter(customer=customer).count() == 1
    # the event is full now: the next member joins the waiting line
    events.event_register(actor=None, event=event, customer=other, source="member")
    assert Registration.objects.get(event=event, customer=other).state == "waiting"

    code = member.inner_text("[data-testid=member-event] .font-monospace").strip()
    staff = browser.new_context(locale="en-US").new_page()
    staff.set_default_timeout(20000)
    staff.on("pageerror", lambda e: errors.append(str(e)))
    browser_sign_in(staff, live_server.url, personas.service.username, "en")
    staff.goto(f"{live_server.url}/loyalty/check-in/{code}")
    assert staff.inner_text("[data-testid=check-in-member]").strip() == "林晓"
    staff.click("[data-testid=check-in-confirm]")
    staff.wait_for_selector("text=林晓 checked in.")
    assert "1 / 1" in staff.inner_text("[data-testid=event-taken]")
    member.reload()
    assert "感谢您的光临" in member.inner_text("[data-testid=member-event-state]")
    balance = Member.objects.get(customer=customer).balance
    assert str(balance) in member.inner_text("[data-testid=member-points]")
    assert balance in (450, 500)  # 500 - 100 for the draw (+50 if it won) + 50 for coming
    assert not errors, errors
