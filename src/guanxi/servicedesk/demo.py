"""The demo's service desk (the demo command loads it once): a support queue with the
demo's service agent and manager, categories with keywords, SLA policies (24 working
hours by default, 4 for urgent tickets), macros, the after-ticket CSAT survey and an NPS
survey, knowledge-base articles in Chinese and English for the help centre and the bot,
an escalation automation on SLA breaches, and tickets in every state."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.automation.models import Automation
from guanxi.automation.services import automation_publish, automation_save
from guanxi.core.permissions import Actor, Role
from guanxi.customers.models import Customer
from guanxi.servicedesk import kb, services, setup, surveys
from guanxi.servicedesk.models import AgentProfile, Article, Invitation, Queue

# title, questions (other ways customers ask), text — Chinese, then English
ARTICLES: list[tuple[str, str, list[str], str]] = [
    ("zh-hans", "退货和换货政策", ["怎么退货", "可以退货吗", "不喜欢能退吗", "七天无理由退货吗"],
     "收到商品 7 天内，未拆封的茶叶可无理由退换货。请在“我的订单”中申请退货，"
     "审核通过后按页面上的地址寄回，收到后 3 个工作日内退款。"),
    ("zh-hans", "发货时间", ["什么时候发货", "多久能发货", "下单后几天发货"],
     "工作日 16:00 前付款的订单当天发货，其余次日发货。节假日顺延。"),
    ("zh-hans", "查询物流", ["快递到哪了", "怎么查物流", "物流单号在哪看"],
     "发货后短信会告诉您快递单号；也可以在“我的订单”里点“查看物流”。"),
    ("zh-hans", "开具发票", ["能开发票吗", "怎么开发票", "电子发票怎么拿"],
     "下单时填写发票抬头和税号，发货后 2 个工作日内电子发票发到您的邮箱。"),
    ("zh-hans", "会员积分", ["积分怎么用", "积分有什么用", "怎么获得积分"],
     "每消费 1 元得 1 积分，100 积分可抵 1 元，结算时勾选“使用积分”即可。"),
    ("zh-hans", "修改收货地址", ["地址填错了怎么办", "怎么改地址", "能改收货地址吗"],
     "订单发货前可在“我的订单”里修改地址；已发货请联系客服，我们帮您联系快递改派。"),
    ("zh-hans", "茶叶怎么保存", ["茶叶放冰箱吗", "茶叶保质期多久", "龙井怎么储存"],
     "绿茶请密封冷藏（0–5℃），避光防潮，开封后一个月内喝完最好；红茶常温密封即可。"),
    ("en", "Returns and exchanges", ["How do I return an order", "Can I get a refund",
                                     "What is your return policy"],
     "Unopened tea can be returned within 7 days of delivery, no questions asked. Request "
     "the return under My orders; we refund within 3 working days of receiving it."),
    ("en", "When will my order ship", ["How long does shipping take",
                                       "When do you dispatch orders"],
     "Orders paid before 16:00 on a working day ship the same day; others the next "
     "working day."),
    ("en", "Tracking your parcel", ["Where is my parcel", "How do I track my order"],
     "We text you the tracking number when your order ships; it is also under My orders."),
    ("en", "Invoices", ["Can I get an invoice", "How do I get a VAT invoice"],
     "Give the invoice title and tax number when you order; the e-invoice is emailed "
     "within 2 working days of shipping."),
    ("en", "Storing tea", ["How should I store green tea", "Does tea go in the fridge"],
     "Keep green tea sealed in the fridge (0–5 °C), away from light and moisture; black "
     "tea sealed at room temperature."),
]

CATEGORIES = [("物流 · Shipping", ["发货", "快递", "物流", "没收到", "shipping", "parcel",
                                   "delivery"]),
              ("退换货 · Returns", ["退货", "换货", "退款", "return", "refund"]),
              ("发票 · Invoices", ["发票", "invoice", "税号"]),
              ("产品咨询 · Products", ["保存", "冲泡", "口感", "brew", "store"])]

TICKETS = [
    ("订单还没发货", "我三天前下的订单还没有发货，请尽快处理。", "new"),
    ("收到的茶叶包装破损", "快递到了，但是罐子压扁了，茶叶撒出来了。", "pending"),
    ("投诉：客服态度差", "打电话问物流，客服态度很差，我要投诉！", "solved-low"),
    ("能开发票吗", "公司报销需要发票，税号 91330100MA2XXXXXX。", "solved"),
    ("Parcel not delivered", "My parcel shows delivered but I never got it.", "open"),
]


def demo_servicedesk(*, actor: Actor) -> dict[str, int]:
    """Load the desk's demo once (nothing when a queue exists already)."""
    from guanxi.accounts.models import User

    made = {"articles": 0, "tickets": 0, "automations": 0}
    if Queue.objects.exists():
        return made
    setup.apply(actor=actor, section="queue", data={"name": _("Support")})
    queue = Queue.objects.get()
    for user in User.objects.filter(role__in=(Role.SERVICE, Role.MANAGER), is_active=True):
        profile, _created = AgentProfile.objects.get_or_create(user=user)
        profile.queues.add(queue)
    for name, keywords in CATEGORIES:
        setup.apply(actor=actor, section="category",
                    data={"name": name, "queue": str(queue.pk), "keywords": ",".join(keywords)})
    setup.apply(actor=actor, section="policy", data={
        "name": _("Standard: first response within 24 working hours"),
        "first_response_minutes": "1440", "next_response_minutes": "480",
        "resolution_minutes": "4320", "warn_minutes": "120", "order": "100",
        "business_hours": "on"})
    setup.apply(actor=actor, section="policy", data={
        "name": _("Urgent: first response within 4 hours"), "priority": "urgent",
        "first_response_minutes": "240", "resolution_minutes": "1440", "warn_minutes": "60",
        "order": "10", "business_hours": "on", "escalate_anytime": "on"})
    for name, body, status in (
            ("发货催促 · Chasing the warehouse",
             "{{ customer.salutation }}您好，已为您催促仓库，今天内发出，物流单号会短信通知您。",
             "pending"),
            ("已解决 · Solved",
             "{{ customer.salutation }}您好，您的问题（工单 {{ ticket.id }}）已处理完毕。"
             "如还有问题，直接回复即可。—— {{ agent.name }}", "solved")):
        setup.apply(actor=actor, section="macro", data={"name": name, "body": body,
                                                        "set_status": status})
    setup.apply(actor=actor, section="sub_status", data={"status": "hold",
                                                         "name": _("Waiting for the courier")})
    surveys.survey_save(actor=actor, name=_("Service satisfaction (CSAT)"), kind="csat",
                        questions=[_("Was the answer quick?")], after_tickets=True)
    surveys.survey_save(actor=actor, name=_("Would you recommend us? (NPS)"), kind="nps")
    for language, title, questions, body in ARTICLES:
        if not Article.objects.filter(title=title).exists():
            kb.article_save(actor=actor, title=title, body=body, language=language,
                            questions=questions, publish=True,
                            category=_("Orders and delivery"))
            made["articles"] += 1
    made["automations"] = _escalation(actor)
    made["tickets"] = _tickets(actor)
    return made


def _escalation(actor: Actor) -> int:
    name = _("SLA breach: raise the priority and alert the team")
    if Automation.objects.filter(name=name).exists():
        return 0
    automation = automation_save(
        actor=actor, name=name, trigger="timeline.event",
        trigger_config={"kind": "sla_breached"}, reentry="always",
        description=_("When a ticket misses an SLA target (in working hours): one step up "
                      "in priority, and an alert to its assignee and the team's managers."),
        steps=[{"id": "raise", "type": "action", "action": "servicedesk.raise_priority",
                "config": {}},
               {"id": "alert", "type": "action", "action": "servicedesk.notify_team",
                "config": {}}])
    automation_publish(actor=actor, automation=automation)
    return 1


def _tickets(actor: Actor) -> int:
    from guanxi.accounts.models import User

    agent = (User.objects.filter(role=Role.SERVICE, is_active=True).first()
             or User.objects.filter(is_superuser=True).first())
    customers = list(Customer.objects.filter(erased_at__isnull=True,
                                             identities__kind="email")
                     .distinct().order_by("pk")[:len(TICKETS)])
    made = 0
    for (subject, body, state), customer in zip(TICKETS, customers, strict=False):
        ticket = services.ticket_open(actor=agent, customer=customer, subject=subject,
                                      body=body, channel="email",
                                      at=timezone.now() - dt.timedelta(hours=30))
        made += 1
        if state == "new":
            continue
        if state == "open":
            services.ticket_note(actor=agent, ticket=ticket, body="已联系快递核实。")
            continue
        services.ticket_reply(actor=agent, ticket=ticket, body="您好，已收到，正在处理。",
                              status="pending" if state == "pending" else "solved")
        if state.startswith("solved"):
            invitation = Invitation.objects.filter(ticket=ticket).first()
            if invitation is not None:
                low = state == "solved-low"
                services.survey_answer(invitation, score=1 if low else 5,
                                       answers=[2 if low else 5],
                                       comment="等了太久" if low else "很快，谢谢")
    return made
