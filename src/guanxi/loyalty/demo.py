"""The demo's loyalty programme (the demo command loads it once): 普通 / 银卡 / 金卡 /
白金 / 钻石 on points earned in 12 months, 1 point per ¥1, double points on tea, coupon
templates, a rewards catalogue, a birthday automation that issues the birthday coupon
and points, and the points the demo's orders earn (read from their orders, once each)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from guanxi.automation.models import Automation
from guanxi.automation.services import automation_publish, automation_save
from guanxi.core.permissions import Actor
from guanxi.customers.models import Customer
from guanxi.loyalty.models import CouponTemplate, EarnRule, Member, Programme, Reward, Tier

TIERS = [("普通", 0, "1", 0, "每消费 1 元得 1 积分"),
         ("银卡", 1000, "1.2", 100, "积分 1.2 倍；生日券"),
         ("金卡", 5000, "1.5", 300, "积分 1.5 倍；生日券；包邮"),
         ("白金", 20000, "2", 800, "积分 2 倍；专属客服；新品试饮"),
         ("钻石", 50000, "3", 2000, "积分 3 倍；年度茶会邀请")]


def demo_loyalty(*, actor: Actor) -> dict[str, Any]:
    if Programme.objects.exists():
        return {"members": 0, "points": 0, "automations": 0}
    Programme.objects.create(name=_("Tea lovers' club"), points_per_unit=Decimal(1),
                             expiry_days=730, action_points={"review": 20, "sign_in": 5})
    for name, threshold, multiplier, points_gift, benefits in TIERS:
        Tier.objects.create(name=name, threshold=threshold, multiplier=Decimal(multiplier),
                            birthday_points=points_gift, benefits=benefits)
    EarnRule.objects.create(name="茶叶双倍积分", kind="category", match="茶叶",
                            multiplier=2)
    birthday = CouponTemplate.objects.create(name="生日券 满100减20", kind="amount",
                                             value=20, min_spend=100, valid_days=30)
    CouponTemplate.objects.create(name="茶叶八折（最多减50）", kind="percent", value=20,
                                  cap=50, categories="茶叶", valid_days=14, per_customer=0)
    ten = CouponTemplate.objects.create(name="10元无门槛券", kind="amount", value=10,
                                        valid_days=60, per_customer=0)
    Reward.objects.create(name="10元无门槛券", points=1000, coupon=ten)
    Reward.objects.create(name="青瓷茶杯", points=3000, stock=50)
    import datetime as dt

    from django.utils import timezone

    from guanxi.loyalty.draws import PrizeInput, draw_save

    draw_save(actor=actor, name="会员积分抽奖", cost=100, per_member=5,
              starts_at=timezone.now(), ends_at=timezone.now() + dt.timedelta(days=30),
              prizes=[PrizeInput("紫砂壶", 1, 3, value=Decimal("680")),
                      PrizeInput("200 积分", 50, points=200),
                      PrizeInput("10元无门槛券", 200, 500, coupon_id=ten.pk),
                      PrizeInput("谢谢参与", 749)])
    from guanxi.loyalty.events import event_register, event_save

    start = timezone.localtime().replace(hour=14, minute=0, second=0, microsecond=0) + \
        dt.timedelta(days=10)
    tasting = event_save(actor=actor, data={
        "name": "明前龙井品鉴会", "location": "杭州 湖滨店",
        "description": "茶艺师带您品尝今年的明前龙井，现场可兑换积分礼品。",
        "starts_at": start, "ends_at": start + dt.timedelta(hours=2), "capacity": 12,
        "points": 50, "open_to_members": "on"})
    for customer in Customer.objects.order_by("pk")[:14]:
        event_register(actor=actor, event=tasting, customer=customer)
    automations = 0
    name = _("Birthday coupon and points")
    if not Automation.objects.filter(name=name).exists():
        automation = automation_save(
            actor=actor, name=name, trigger="automation.date",
            trigger_config={"date": "birthday", "time": "09:00"}, reentry="always",
            description=_("On each member's birthday: the birthday coupon and their tier's "
                          "birthday points."),
            steps=[{"id": "coupon", "type": "action", "action": "loyalty.issue_coupon",
                    "config": {"template": str(birthday.pk)}},
                   {"id": "points", "type": "action", "action": "loyalty.birthday_points",
                    "config": {"reason": _("Birthday")}}])
        automation_publish(actor=actor, automation=automation)
        automations = 1
    from guanxi.loyalty.backfill import points_backfill

    points = points_backfill(actor=actor)["points"]
    return {"members": Member.objects.count(), "points": points,
            "automations": automations}
