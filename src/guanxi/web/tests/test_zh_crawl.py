"""Every page every role reaches by following links, in Simplified Chinese: no English UI
text. Text the user typed (names, usernames, emails, SKUs, codes) and a short list of
technical terms that Chinese software shows as they are (API, CSV, RFM…) are allowed."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlparse

import pytest

from guanxi.analytics.services import scores_refresh, segment_save
from guanxi.customers import services as customer_services
from guanxi.customers.models import Customer
from guanxi.testing import make_customer

pytestmark = pytest.mark.django_db

ROLES = ["admin", "manager", "sales", "service", "marketing", "analyst"]
SKIP = ("/accounts/logout/", ".csv", ".xlsx", "/export", "format=", "/admin/", "/api/",
        "/i18n/", "cursor=", "before=", "sort=", "cols=", "size=", "/static/")
MAX_PAGES = 90
# What Chinese business software shows untranslated.
TERMS = {"API", "CSV", "Excel", "RFM", "SKU", "ID", "CNY", "EUR", "USD", "Guanxi", "OpenID",
         "UnionID", "WeChat", "Ctrl", "K", "PIPL", "TOTP", "IP", "OpenAPI", "R", "F", "M",
         "CLV", "XLSX", "VIP", "JSON", "UTC", "Email", "App", "POS", "SMS", "NPS", "CSAT",
         "Swagger", "UI", "Microsoft", "Authenticator", "Google", "FreeOTP", "Splink", "ISO",
         "URL", "HTTP", "ok", "CRM", "MB", "Webhook", "Webhooks", "Standard", "Shopify",
         "WooCommerce", "webhook-signature", "https", "HTML", "CSS", "SMTP", "STARTTLS",
         "TLS", "AccessKey", "Secret", "SecretId", "SecretKey", "SmsSdkAppId", "AppID",
         "AppSecret", "AppKey", "Master", "SMS_",
         "SLA", "PDF", "CN",
         "English"}  # the language switch names each language in itself
WORD = re.compile(r"[A-Za-z][A-Za-z'’-]+")


VOID = {"input", "br", "img", "meta", "link", "hr", "source", "col", "wbr", "area"}
CODE = {"script", "style", "code", "pre", "svg", "datalist"}


class _Text(HTMLParser):
    """The text a person reads: text nodes and the titles, labels and placeholders of
    elements, without scripts, styles, code and what is marked translate="no" (codes,
    configuration names and other identifiers shown as they are)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skipping: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag not in VOID and (tag in CODE or attributes.get("translate") == "no"):
            self._skipping.append(tag)
        if self._skipping or attributes.get("translate") == "no":
            return
        for name in ("title", "aria-label", "placeholder", "alt"):
            if attributes.get(name):
                self.parts.append(str(attributes[name]))

    def handle_endtag(self, tag: str) -> None:
        if self._skipping and self._skipping[-1] == tag:
            self._skipping.pop()

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def _english(html: str, allowed: set[str]) -> list[str]:
    parser = _Text()
    parser.feed(html)
    found = []
    for part in parser.parts:
        for word in WORD.findall(part):
            if word not in TERMS and word.lower() not in allowed and len(word) > 1:
                found.append(word)
    return found


def _data(personas) -> set[str]:
    a = make_customer(personas.admin, full_name="欧阳娜娜", phones=["13900001111"],
                      emails=["nana@example.com"], tags=["贵宾"], owner=personas.sales,
                      region="浙江省杭州市")
    make_customer(personas.admin, full_name="张伟", phones=["13800138000"], region="上海市")
    customer_services.interaction_log(actor=personas.admin, customer=a, kind="call",
                                      summary="回访")
    segment_save(actor=personas.admin, name="上海客户",
                 rules={"field": "region", "operator": "equals", "value": "上海"})
    scores_refresh()
    from guanxi.automation.services import automation_enrol, automation_publish, automation_save

    automation = automation_save(
        actor=personas.admin, name="欢迎系列", trigger="timeline.event",
        trigger_config={"kind": "customer_created"}, steps=[
            {"id": "a", "type": "action", "action": "customers.tag_add",
             "config": {"tag": "新客"}},
            {"id": "w", "type": "wait", "days": 3},
            {"id": "b", "type": "branch", "else": "exit",
             "rules": {"field": "region", "operator": "contains", "value": "浙江"}},
            {"id": "c", "type": "action", "action": "automation.assign_owner",
             "config": {"mode": "round_robin"}}])
    automation_publish(actor=personas.admin, automation=automation)
    automation_enrol(actor=personas.admin, automation=automation, customer=a)
    from guanxi.integrations.models import WebhookEndpoint
    from guanxi.integrations.webhooks import delivery_create, new_secret

    endpoint = WebhookEndpoint.objects.create(name="财务系统", url="https://93.184.215.14/h",
                                              secret=new_secret(), event_kinds=["note"])
    delivery_create(endpoint, message_id="msg_crawl", event_type="event.note", payload={},
                    customer_id=a.pk)
    from guanxi.engagement.models import ChannelSetup
    from guanxi.engagement.outbox import Draft, queue_messages
    from guanxi.engagement.services import TextInput, template_save

    ChannelSetup.objects.create(channel="email", provider="log")
    template = template_save(actor=personas.admin, name="中秋问候", channel="email",
                             purpose="marketing", texts=[TextInput(
                                 "zh-hans", "{{ customer.salutation }}，中秋快乐", "中秋快乐")])
    queue_messages([Draft(key="crawl:1", customer_id=a.pk, channel="email",
                          purpose="marketing", origin="campaign", template_id=template.pk),
                    Draft(key="crawl:2", customer_id=a.pk, channel="sms", purpose="service",
                          origin="staff", body="您的订单已发货")])
    from guanxi.engagement.campaigns import VariantInput, campaign_launch, campaign_save

    shanghai = segment_save(actor=personas.admin, name="浙江客户",
                            rules={"field": "region", "operator": "contains", "value": "浙江"})
    campaign_save(actor=personas.admin, name="草稿活动", segment_id=shanghai.pk,
                  variants=[VariantInput(template.pk, 100)], winner_metric="click")
    sent = campaign_save(actor=personas.admin, name="中秋活动", segment_id=shanghai.pk,
                         variants=[VariantInput(template.pk, 100)], holdout_percent=10)
    campaign_launch(actor=personas.admin, campaign=sent)
    from guanxi.core.work import work_drain

    work_drain(["engagement.campaign", "engagement.send"])
    _desk(personas, a)
    _loyalty(personas, a)
    # what users typed or were given: usernames, emails and the like
    typed = {"East", "West"} | {u.username for u in (
        personas.admin, personas.manager, personas.sales, personas.service,
        personas.marketing, personas.analyst, personas.teammate, personas.outsider,
        personas.norole)}
    return {w.lower() for t in typed | {"nana@example.com", "example.com"}
            for w in WORD.findall(t)}


START: list[str] = []


def _loyalty(personas, customer) -> None:
    """A programme with tiers, rules, rewards and coupons; the customer's points, a
    coupon, a pending adjustment; their pages are crawled first (see the test)."""
    from decimal import Decimal

    from guanxi.loyalty import coupons, services
    from guanxi.loyalty.demo import TIERS
    from guanxi.loyalty.models import CouponTemplate, EarnRule, Programme, Reward, Tier
    from guanxi.loyalty.views import member_link

    Programme.objects.create(name="茶友会", action_points={"review": 20})
    for name, threshold, multiplier, birthday, benefits in TIERS:
        Tier.objects.create(name=name, threshold=threshold, multiplier=Decimal(multiplier),
                            birthday_points=birthday, benefits=benefits)
    EarnRule.objects.create(name="茶叶双倍", kind="category", match="茶叶")
    template = CouponTemplate.objects.create(name="生日券", kind="amount", value=20,
                                             min_spend=100)
    Reward.objects.create(name="茶杯", points=300, stock=5)
    services.points_award(actor=None, customer=customer, points=1200, reason="开卡礼")
    coupons.coupon_issue(actor=None, template=template, customer=customer)
    services.points_adjust(actor=personas.manager, customer=customer, points=5000,
                           reason="迁移旧积分", idempotency_key="crawl")
    import datetime as dt

    from django.utils import timezone

    from guanxi.loyalty.draws import draw_save, parse_prizes

    draw_save(actor=personas.manager, name="中秋抽奖", cost=100, per_member=3,
              starts_at=timezone.now() - dt.timedelta(hours=1),
              ends_at=timezone.now() + dt.timedelta(days=7),
              prizes=parse_prizes("紫砂壶, 1, 3, 0, , 680\n谢谢参与, 99"))
    from guanxi.loyalty import events

    event = events.event_save(actor=personas.manager, data={
        "name": "品茶会", "description": "西湖龙井新茶", "location": "杭州店",
        "capacity": 1, "points": 50, "open_to_members": "on",
        "starts_at": timezone.localtime() + dt.timedelta(hours=2),
        "ends_at": timezone.localtime() + dt.timedelta(hours=4)})
    registration = events.event_register(actor=personas.manager, event=event,
                                         customer=customer)
    from guanxi.testing import make_customer

    waiting = make_customer(personas.manager, full_name="李娜")
    events.event_register(actor=personas.manager, event=event, customer=waiting)
    START[:] = ["/loyalty/", "/loyalty/settings/", f"/loyalty/customers/{customer.pk}/",
                member_link(customer), member_link(waiting), "/loyalty/events/",
                f"/loyalty/events/{event.pk}/?q=李",
                f"/loyalty/check-in/{events.check_in_token(registration)}"]


def _desk(personas, customer) -> None:
    """Tickets (one a solved complaint with a low score), an article, the bot's log, a
    survey, the desk's set-up; the customers' pages (help centre, form, portal, survey)
    start the crawl beside the home page."""
    from guanxi.servicedesk import kb, services, setup, surveys
    from guanxi.servicedesk.models import Invitation, Survey

    m = personas.manager
    setup.apply(actor=m, section="queue", data={"name": "售后"})
    setup.apply(actor=m, section="category", data={"name": "物流", "keywords": "发货,快递"})
    setup.apply(actor=m, section="policy", data={
        "name": "默认", "first_response_minutes": "1440", "resolution_minutes": "4320",
        "warn_minutes": "60", "order": "100", "business_hours": "on"})
    setup.apply(actor=m, section="macro", data={"name": "已发货",
                                                "body": "{{ customer.name }}您好，已发货。"})
    setup.apply(actor=m, section="sub_status", data={"status": "hold", "name": "等配件"})
    Survey.objects.create(name="服务满意度", kind="csat", after_tickets=True,
                          questions=["回复及时吗"])
    kb.article_save(actor=m, title="怎么退货", body="七天无理由退货。", language="zh-hans",
                    questions=["能退货吗"], publish=True)
    kb.ask("能退货吗", "zh-hans")
    ticket = services.ticket_open(actor=personas.service, customer=customer,
                                  subject="投诉：发货太慢", body="三天了还没发货，太差了",
                                  channel="phone")
    services.ticket_note(actor=personas.service, ticket=ticket, body="老顾客")
    services.ticket_reply(actor=personas.service, ticket=ticket, body="抱歉，已催促",
                          status="solved")
    invitation = Invitation.objects.get(ticket=ticket)
    services.survey_answer(invitation, score=2, answers=[3], comment="发货太慢了")
    other = services.ticket_open(actor=None, subject="发票", body="请开发票", channel="web",
                                 contact=services.Contact(name="路人", email="p@example.com"))
    nps = Survey.objects.create(name="推荐度", kind="nps")
    surveys.invite_customers(actor=m, survey=nps, customer_ids=[customer.pk])
    START[:] = ["/help/", "/help/new", surveys.portal_path(other),
                surveys.survey_url(nps.invitations.get()).split("testserver")[-1]
                .replace("http://127.0.0.1:8000", "")]


@pytest.mark.parametrize("role", ROLES)
def test_every_page_in_chinese_has_no_english_ui_text(client, personas, role):
    allowed = _data(personas)
    client.force_login(getattr(personas, role))
    headers = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
    queue, seen, english = ["/", *START, "/desk/settings/", "/desk/bot/"], set(), {}
    queue.append(f"/customers/{Customer.objects.get(display_name='欧阳娜娜').pk}/")
    while queue and len(seen) < MAX_PAGES:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        r = client.get(path, **headers)
        if r.status_code != 200 or "text/html" not in r.get("Content-Type", ""):
            continue
        html = r.content.decode()
        assert '<html lang="zh-hans">' in html, path
        words = _english(html, allowed)
        if words:
            english[path] = sorted(set(words))[:15]
        for href in re.findall(r'href="([^"#]+)"', html):
            url = urlparse(urljoin("http://testserver" + path, href.replace("&amp;", "&")))
            target = url.path + (f"?{url.query}" if url.query else "")
            if (url.netloc == "testserver" and not any(s in target for s in SKIP)
                    and target not in seen):
                queue.append(target)
    assert len(seen) >= 5, seen
    assert not english, "\n".join(f"{k}: {v}" for k, v in english.items())
