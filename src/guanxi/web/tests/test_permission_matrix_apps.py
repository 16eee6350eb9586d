"""Every role × every API endpoint and page of every app (the customer record cases are in
customers/tests/test_permission_matrix.py), and the administration site.

Expected outcomes are written from docs/permissions.md; a route that is in neither this
table nor the customer matrix fails `test_every_route_is_in_a_matrix`, so a new app's
endpoints and pages are covered as they are added."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from guanxi.analytics.models import CustomerScore, Stage
from guanxi.analytics.services import segment_save
from guanxi.config.api import api
from guanxi.dataquality.models import MatchCandidate
from guanxi.dataquality.services import customers_merge
from guanxi.testing import bearer, make_customer

pytestmark = pytest.mark.django_db

ROLES = ["admin", "manager", "sales", "service", "marketing", "analyst", "norole"]
VIEW = {"admin", "manager", "sales", "service", "marketing", "analyst"}
MERGE = IMPORT = SCORING = AUDIT = {"admin", "manager"}
SEGMENTS = {"admin", "manager", "marketing", "analyst"}
EXPORT = {"admin", "manager", "marketing", "analyst"}
USERS = PRIVACY = {"admin"}
RECORDS = {"admin", "manager"}
ANY = set(ROLES)
AUTOMATIONS = {"admin", "manager", "marketing", "analyst"}
AUTOMATE = {"admin", "manager", "marketing"}
INTEGRATE = {"admin", "manager"}
MESSAGES = VIEW
SEND = {"admin", "manager", "sales", "service", "marketing"}
CAMPAIGNS = {"admin", "manager", "marketing"}
CHANNELS = {"admin", "manager"}
DESK = {"admin", "manager", "service", "sales", "analyst"}
DESK_WORK = KB = {"admin", "manager", "service"}
DESK_MANAGE = {"admin", "manager"}
LOYALTY = VIEW
LOYALTY_WORK = {"admin", "manager", "service", "sales", "marketing"}
LOYALTY_ADJUST = LOYALTY_MANAGE = {"admin", "manager"}
STEPS = [{"id": "a", "type": "action", "action": "customers.tag_add", "config": {"tag": "自动"}}]

# (method, url, body, roles allowed, status when allowed). Others get 403.
API_CASES = [
    ("get", "/api/v1/me", None, ANY, 200),
    ("get", "/api/v1/customers", None, VIEW, 200),
    ("get", "/api/v1/products", None, VIEW, 200),
    ("put", "/api/v1/products", {"sku": "TEA-1", "name": "茶", "price": "10.00"},
     {"admin", "manager", "sales"}, 200),
    ("get", "/api/v1/scores", None, VIEW, 200),
    ("get", "/api/v1/customers/{customer}/score", None, VIEW, 200),
    # a live count of the customers the user can see, for everyone who sees customers
    ("post", "/api/v1/segments/count", {"rules": {"field": "region", "operator": "equals",
                                                  "value": "上海"}}, VIEW, 200),
    ("get", "/api/v1/segments", None, VIEW, 200),
    ("get", "/api/v1/segments/{segment}", None, VIEW, 200),
    ("get", "/api/v1/segments/{segment}/sizes", None, VIEW, 200),
    ("get", "/api/v1/segments/{segment}/members", None, VIEW, 200),
    ("post", "/api/v1/segments", {"name": "新分群", "rules": {
        "field": "region", "operator": "equals", "value": "上海"}}, SEGMENTS, 201),
    ("put", "/api/v1/segments/{segment}", {"name": "改名", "rules": {
        "field": "region", "operator": "equals", "value": "北京"}}, SEGMENTS, 200),
    ("post", "/api/v1/segments/{segment}/refresh", None, SEGMENTS, 200),
    ("delete", "/api/v1/segments/{segment}", None, SEGMENTS, 204),
    ("get", "/api/v1/duplicates", None, MERGE, 200),
    ("post", "/api/v1/duplicates/{candidate}/decision", {"same_person": False}, MERGE, 200),
    ("get", "/api/v1/merges", None, MERGE, 200),
    ("post", "/api/v1/merges/{merge}/undo", None, MERGE, 200),
    ("post", "/api/v1/customers/{customer}/merge", {"other_id": "{other}"}, MERGE, 201),
    ("get", "/api/v1/duplicates/search/{run}", None, MERGE, 200),
    # data-subject requests: the privacy officer's (administrators)
    ("get", "/api/v1/customers/{customer}/personal-data", None, PRIVACY, 200),
    ("post", "/api/v1/customers/{customer}/erasure", {"reason": "PIPL"}, PRIVACY, 200),
    # automations: marketing and managers build them; analysts read them
    ("get", "/api/v1/automations", None, AUTOMATIONS, 200),
    ("post", "/api/v1/automations", {"name": "新自动化", "trigger": "timeline.event",
                                     "trigger_config": {"kind": "note"}, "steps": STEPS},
     AUTOMATE, 201),
    ("get", "/api/v1/automations/{automation}", None, AUTOMATIONS, 200),
    ("put", "/api/v1/automations/{automation}", {"name": "改名", "trigger": "timeline.event",
                                                 "trigger_config": {"kind": "note"},
                                                 "steps": STEPS}, AUTOMATE, 200),
    ("post", "/api/v1/automations/{automation}/publish", None, AUTOMATE, 200),
    ("post", "/api/v1/automations/{automation}/pause", None, AUTOMATE, 200),
    ("post", "/api/v1/automations/{paused}/resume", None, AUTOMATE, 200),
    ("post", "/api/v1/automations/{automation}/archive", None, AUTOMATE, 200),
    ("post", "/api/v1/automations/{automation}/enrol", {"customer_id": "{customer}"},
     AUTOMATE, 201),
    ("post", "/api/v1/automations/{automation}/test/{customer}", None, AUTOMATIONS, 200),
    ("get", "/api/v1/automations/{automation}/runs", None, AUTOMATIONS, 200),
    ("get", "/api/v1/customers/{customer}/automations", None, AUTOMATIONS, 200),
    # webhooks: customer data leaves Guanxi through them
    ("get", "/api/v1/webhooks", None, INTEGRATE, 200),
    ("post", "/api/v1/webhooks", {"name": "ERP", "url": "https://93.184.215.14/hook",
                                  "event_kinds": ["note"]}, INTEGRATE, 201),
    ("get", "/api/v1/webhooks/{endpoint}", None, INTEGRATE, 200),
    ("put", "/api/v1/webhooks/{endpoint}", {"name": "改名", "url": "https://93.184.215.14/h",
                                            "event_kinds": ["*"]}, INTEGRATE, 200),
    ("post", "/api/v1/webhooks/{endpoint}/rotate", None, INTEGRATE, 200),
    ("get", "/api/v1/webhooks/{endpoint}/deliveries", None, INTEGRATE, 200),
    ("post", "/api/v1/webhook-deliveries/{delivery}/replay", None, INTEGRATE, 202),
    ("delete", "/api/v1/webhooks/{endpoint}", None, INTEGRATE, 204),
    # messages
    ("get", "/api/v1/templates", None, MESSAGES, 200),
    ("post", "/api/v1/templates", {"name": "新模板", "channel": "sms", "purpose": "service",
                                   "texts": [{"language": "zh-hans", "body": "您好"}]},
     CAMPAIGNS, 201),
    ("get", "/api/v1/templates/{template}", None, MESSAGES, 200),
    ("put", "/api/v1/templates/{template}", {"name": "回访2", "channel": "email",
                                             "purpose": "service", "texts": [
                                                 {"language": "zh-hans", "subject": "回访",
                                                  "body": "您好"}]}, CAMPAIGNS, 200),
    ("post", "/api/v1/customers/{customer}/messages", {"channel": "email",
                                                       "purpose": "service",
                                                       "subject": "回访", "body": "您好"},
     SEND, 202),
    ("get", "/api/v1/customers/{customer}/messages", None, MESSAGES, 200),
    ("get", "/api/v1/messages/{message}", None, MESSAGES, 200),
    ("get", "/api/v1/campaigns", None, MESSAGES, 200),
    ("post", "/api/v1/campaigns", {"name": "新活动", "segment_id": "{audience}",
                                   "variants": [{"template_id": "{template}", "share": 100}]},
     CAMPAIGNS, 201),
    ("get", "/api/v1/campaigns/{campaign}", None, MESSAGES, 200),
    ("put", "/api/v1/campaigns/{campaign}", {"name": "改名活动", "segment_id": "{audience}",
                                             "variants": [{"template_id": "{template}",
                                                           "share": 100}]}, CAMPAIGNS, 200),
    ("post", "/api/v1/campaigns/{campaign}/launch", None, CAMPAIGNS, 202),
    ("post", "/api/v1/campaigns/{sending}/cancel", None, CAMPAIGNS, 200),
    ("get", "/api/v1/campaigns/{sending}/report", None, MESSAGES, 200),
    # the service desk: service agents and managers work tickets; sales and analysts read
    ("get", "/api/v1/tickets", None, DESK, 200),
    ("post", "/api/v1/tickets", {"customer_id": "{customer}", "subject": "来电",
                                 "body": "客户来电询问发货", "channel": "phone"}, DESK_WORK, 201),
    ("get", "/api/v1/tickets/{ticket}", None, DESK, 200),
    ("patch", "/api/v1/tickets/{ticket}", {"priority": "high"}, DESK_WORK, 200),
    ("get", "/api/v1/tickets/{ticket}/messages", None, DESK, 200),
    ("post", "/api/v1/tickets/{ticket}/messages", {"body": "已催促仓库", "internal": True},
     DESK_WORK, 201),
    ("post", "/api/v1/tickets/{ticket2}/merge/{ticket}", None, DESK_WORK, 200),
    ("get", "/api/v1/sla/report", None, DESK, 200),
    ("get", "/api/v1/surveys/{survey}/results", None, DESK, 200),
    ("get", "/api/v1/kb/articles", None, DESK, 200),
    ("post", "/api/v1/kb/articles", {"title": "如何退货", "body": "七天无理由退货。",
                                     "language": "zh-hans", "questions": ["能退吗"]}, KB, 201),
    ("get", "/api/v1/kb/articles/{article}", None, DESK, 200),
    # loyalty: everyone who sees customers sees points; front-line roles redeem and issue
    # coupons; managers adjust points (one idempotency key per case: allowed roles after
    # the first get the first answer again)
    ("get", "/api/v1/loyalty/members/{customer}", None, LOYALTY, 200),
    ("get", "/api/v1/loyalty/members/{customer}/movements", None, LOYALTY, 200),
    ("post", "/api/v1/loyalty/members/{customer}/redeem",
     {"points": 1, "idempotency_key": "matrix-redeem"}, LOYALTY_WORK, 200),
    ("post", "/api/v1/loyalty/members/{customer}/adjust",
     {"points": 5, "reason": "补偿", "idempotency_key": "matrix-adjust"}, LOYALTY_ADJUST, 200),
    ("post", "/api/v1/loyalty/members/{customer}/actions",
     {"action": "review", "idempotency_key": "matrix-action"}, LOYALTY_WORK, 200),
    ("post", "/api/v1/loyalty/members/{customer}/reservations",
     {"points": 2, "idempotency_key": "matrix-reserve"}, LOYALTY_WORK, 200),
    ("post", "/api/v1/loyalty/members/{customer}/reservations/{held}/commit",
     {"idempotency_key": "matrix-commit"}, LOYALTY_WORK, 200),
    ("post", "/api/v1/loyalty/members/{customer}/reservations/{held2}/release",
     {"idempotency_key": "matrix-release"}, LOYALTY_WORK, 200),
    ("post", "/api/v1/loyalty/orders/{order}/refund",
     {"amount": "1.00", "idempotency_key": "matrix-refund"}, LOYALTY_WORK, 200),
    ("get", "/api/v1/loyalty/rewards", None, LOYALTY, 200),
    ("post", "/api/v1/loyalty/members/{customer}/rewards/{reward}/redeem",
     {"idempotency_key": "matrix-reward"}, LOYALTY_WORK, 200),
    ("get", "/api/v1/loyalty/members/{customer}/coupons", None, LOYALTY, 200),
    ("post", "/api/v1/loyalty/coupons/issue", {"template_id": "{coupon_template}",
                                              "customer_id": "{customer}",
                                              "idempotency_key": "matrix-issue"},
     LOYALTY_WORK, 200),
    ("post", "/api/v1/loyalty/coupons/validate",
     {"codes": ["{coupon_code}"], "customer_id": "{customer}",
      "items": [{"sku": "TEA", "amount": "50.00"}]}, LOYALTY_WORK, 200),
    ("post", "/api/v1/loyalty/coupons/redeem",
     {"codes": ["{coupon_code}"], "customer_id": "{customer}",
      "items": [{"sku": "TEA", "amount": "50.00"}], "order_ref": "M-1",
      "idempotency_key": "matrix-coupon"}, LOYALTY_WORK, 200),
    ("get", "/api/v1/loyalty/members/{customer}/referral", None, LOYALTY, 200),
    ("post", "/api/v1/loyalty/referrals", {"code": "{referral_code}", "customer_id": "{friend}"},
     LOYALTY_WORK, 201),
    ("get", "/api/v1/loyalty/draws", None, LOYALTY, 200),
    ("get", "/api/v1/loyalty/draws/{draw}", None, LOYALTY, 200),
    ("get", "/api/v1/loyalty/draws/{draw}/tickets", None, LOYALTY, 200),
    ("post", "/api/v1/loyalty/draws/{draw}/play",
     {"customer_id": "{customer}", "idempotency_key": "matrix-draw"}, LOYALTY_WORK, 200),
    ("get", "/api/v1/loyalty/events", None, LOYALTY, 200),
    ("get", "/api/v1/loyalty/events/{event}", None, LOYALTY, 200),
    ("get", "/api/v1/loyalty/events/{event}/registrations", None, LOYALTY, 200),
    ("post", "/api/v1/loyalty/events/{event}/registrations", {"customer_id": "{friend}"},
     LOYALTY_WORK, 200),
    ("delete", "/api/v1/loyalty/events/{event}/registrations/{customer}", None,
     LOYALTY_WORK, 200),
    ("post", "/api/v1/loyalty/events/{event}/check-in", {"customer_id": "{customer}"},
     LOYALTY_WORK, 200),
    # the FAQ bot answers anyone (the public web widget)
    ("post", "/api/v1/bot/ask", {"question": "怎么退货", "language": "zh-hans"}, ANY, 200),
    ("post", "/api/v1/bot/handoff", {"conversation": "matrix-conversation",
                                     "email": "bot@example.com"}, ANY, 201),
]
PAGE_CASES = [
    ("get", "/", None, ANY, 200),
    ("get", "/accounts/security/", None, ANY, 200),
    # anyone with a settings section: staff (admin), products (sales too), companies
    ("get", "/settings/", None, {"admin", "manager", "sales", "service"}, 200),
    ("get", "/accounts/staff/", None, USERS, 200),
    ("get", "/quality/tag-rules/", None, IMPORT, 200),
    ("get", "/privacy/", None, RECORDS, 200),
    ("get", "/audit/", None, AUDIT, 200),
    ("get", "/privacy/people/{customer}/", None, PRIVACY, 200),
    ("get", "/search/", {"q": "王"}, VIEW, 200),
    ("get", "/analytics/", None, VIEW, 200),
    ("get", "/analytics/segments/", None, VIEW, 200),
    ("get", "/analytics/segments/{segment}/", None, VIEW, 200),
    ("get", "/analytics/segments/new", None, SEGMENTS, 200),
    ("get", "/analytics/segments/{segment}/edit", None, SEGMENTS, 200),
    ("post", "/analytics/segments/{segment}/refresh", None, SEGMENTS, 302),
    ("get", "/analytics/settings", None, SCORING, 200),
    ("get", "/analytics/scores.csv", None, EXPORT, 200),
    ("get", "/quality/imports/", None, IMPORT, 200),
    ("get", "/quality/duplicates/", None, MERGE, 200),
    ("get", "/quality/duplicates/{candidate}/", None, MERGE, 200),
    ("get", "/quality/merges/", None, MERGE, 200),
    ("post", "/quality/merges/{merge}/undo/", None, MERGE, 302),
    ("get", "/automations/", None, AUTOMATIONS, 200),
    ("get", "/automations/new", None, AUTOMATE, 200),
    ("get", "/automations/{automation}/", None, AUTOMATIONS, 200),
    ("get", "/automations/{automation}/edit", None, AUTOMATE, 200),
    ("get", "/automations/{automation}/test?customer={customer}", None, AUTOMATIONS, 200),
    ("post", "/automations/{automation}/publish", None, AUTOMATE, 302),
    ("post", "/automations/{automation}/pause", None, AUTOMATE, 302),
    ("post", "/automations/{paused}/resume", None, AUTOMATE, 302),
    ("post", "/automations/{automation}/archive", None, AUTOMATE, 302),
    ("get", "/integrations/webhooks/", None, INTEGRATE, 200),
    ("get", "/integrations/webhooks/{endpoint}/", None, INTEGRATE, 200),
    ("post", "/integrations/webhooks/{endpoint}/rotate", None, INTEGRATE, 302),
    ("post", "/integrations/deliveries/{delivery}/replay", None, INTEGRATE, 302),
    ("post", "/integrations/webhooks/{endpoint}/delete", None, INTEGRATE, 302),
    ("get", "/integrations/sources/", None, INTEGRATE, 200),
    # messages: everyone who sees customers sees them; marketing writes templates;
    # sales and service send to the customers they can see; managers set up channels
    ("get", "/messages/", None, MESSAGES, 200),
    ("get", "/messages/templates/", None, MESSAGES, 200),
    ("get", "/messages/templates/new", None, CAMPAIGNS, 200),
    ("get", "/messages/templates/{template}/", None, MESSAGES, 200),
    ("get", "/messages/templates/{template}/preview", None, MESSAGES, 200),
    ("post", "/messages/templates/{template}/archive", None, CAMPAIGNS, 302),
    ("post", "/messages/send/{customer}", {"channel": "email", "purpose": "service",
                                          "subject": "回访", "body": "您好"}, SEND, 200),
    ("get", "/messages/settings/", None, CHANNELS, 200),
    ("post", "/messages/suppressions/{suppression}/remove", None, CHANNELS, 302),
    ("get", "/messages/campaigns/", None, MESSAGES, 200),
    ("get", "/messages/campaigns/new", None, CAMPAIGNS, 200),
    ("get", "/messages/campaigns/{campaign}/", None, MESSAGES, 200),
    ("get", "/messages/campaigns/{sending}/", None, MESSAGES, 200),
    ("get", "/messages/campaigns/{campaign}/edit", None, CAMPAIGNS, 200),
    ("post", "/messages/campaigns/{campaign}/launch", None, CAMPAIGNS, 302),
    ("post", "/messages/campaigns/{sending}/cancel", None, CAMPAIGNS, 302),
    ("get", "/messages/automations/", None, MESSAGES, 200),
    ("get", "/desk/", None, DESK, 200),
    ("get", "/desk/new", None, DESK_WORK, 200),
    ("get", "/desk/{ticket}/", None, DESK, 200),
    ("post", "/desk/{ticket}/act", {"do": "note", "body": "老顾客"}, DESK_WORK, 302),
    ("get", "/desk/files/{attachment}", None, DESK, 200),
    ("get", "/desk/sla/", None, DESK, 200),
    ("get", "/desk/kb/", None, DESK, 200),
    ("get", "/desk/kb/new", None, KB, 200),
    ("get", "/desk/kb/{article}/", None, KB, 200),
    ("post", "/desk/kb/{article}/archive", None, KB, 302),
    ("get", "/desk/bot/", None, DESK, 200),
    ("get", "/desk/surveys/", None, DESK, 200),
    ("get", "/desk/surveys/{survey}/", None, DESK, 200),
    ("get", "/desk/settings/", None, DESK_MANAGE, 200),
    ("get", "/loyalty/", None, LOYALTY, 200),
    ("get", "/loyalty/settings/", None, LOYALTY_MANAGE, 200),
    ("post", "/loyalty/settings/{rule_kind}/{rule}/delete", None, LOYALTY_MANAGE, 302),
    ("post", "/loyalty/coupons/{coupon_template}/batch", {"count": 3}, LOYALTY_MANAGE, 200),
    ("post", "/loyalty/adjustments/{pending}", {"approve": "1"}, LOYALTY_ADJUST, 302),
    ("get", "/loyalty/customers/{customer}/", None, LOYALTY, 200),
    ("post", "/loyalty/customers/{customer}/act",
     {"what": "coupon", "template": "{coupon_template}", "key": "matrix"}, LOYALTY_WORK, 302),
    ("get", "/member/{member_page}", None, ANY, 200),
    ("get", "/r/{referral_code_path}", None, ANY, 200),
    ("post", "/member/{member_page}/draw/{draw}", {"key": "matrix"}, ANY, 200),
    ("post", "/loyalty/draws/new", {"name": "新抽奖", "cost": "10", "per_member": "3",
                                    "starts_at": "2026-01-01T00:00",
                                    "ends_at": "2030-01-01T00:00",
                                    "prizes": "茶杯, 1, 5\n谢谢参与, 9"}, LOYALTY_MANAGE, 302),
    ("get", "/loyalty/events/", None, LOYALTY, 200),
    ("post", "/loyalty/events/", {"name": "品茶会", "starts_at": "2030-01-01T10:00",
                                  "ends_at": "2030-01-01T12:00", "capacity": "10",
                                  "points": "5", "open_to_members": "on"},
     LOYALTY_MANAGE, 302),
    ("get", "/loyalty/events/{event}/", None, LOYALTY, 200),
    ("post", "/loyalty/events/{event}/", {"what": "register", "customer": "{friend}"},
     LOYALTY_WORK, 302),
    ("post", "/loyalty/events/{event}/", {"what": "cancel_event"}, LOYALTY_MANAGE, 302),
    ("get", "/loyalty/check-in/{check_in}", None, LOYALTY_WORK, 200),
    ("post", "/loyalty/check-in/{check_in}", None, LOYALTY_WORK, 302),
    ("post", "/member/{member_page}/events/{event}", None, ANY, 200),
    # what customers reach without an account (any role may open it too)
    ("get", "/help/", None, ANY, 200),
    ("get", "/help/a/{article}", None, ANY, 200),
    ("get", "/help/new", None, ANY, 200),
    ("get", "/help/suggest", {"subject": "退货"}, ANY, 200),
    ("get", "/help/t/{portal}", None, ANY, 200),
    ("get", "/help/s/{invitation}", None, ANY, 200),
]
# The administration site: a role it does not open is sent to its sign-in page.
ADMIN_CASES = [
    ("/admin/", {"admin", "manager"}),
    ("/admin/audit/auditentry/", AUDIT),
    ("/admin/accounts/user/", USERS),
    ("/admin/accounts/team/", USERS),
    ("/admin/accounts/apitoken/", USERS),
    ("/admin/accounts/rolepolicy/", USERS),
    ("/admin/axes/accessattempt/", USERS),
    ("/admin/axes/accesslog/", USERS),
    ("/admin/axes/accessfailurelog/", USERS),
]
# Routes covered elsewhere: the customer matrix, the import and resolution flows (their
# own tests, with files and worker jobs), sign-in, language, health and docs.
ELSEWHERE = re.compile(
    r"^(/api/v1/customers(/\{customer_id\}(/(identities|addresses|consents|tags|events|"
    r"interactions)(/\{\w+\})?)?)?|/api/v1/events/bulk|/api/v1/orders(/\{order_id\}"
    r"(/status)?)?|/api/v1/imports.*|/api/v1/duplicates/search|"
    r"/customers/.*|/quality/imports/.+|/quality/tag-rules/.+|/quality/duplicates/(find|runs)/.*|"
    r"/analytics/(segments/count|segments/new|segments/\{pk\}/delete|scores/export|"
    r"scoring/.*)|/hooks/\{slug\}|/help/wechat|/m/[cou]/\{token\}(\.gif)?|/m/sms/\{token\}/\{what\}|/anymail/.*|/privacy/people/\{pk\}/(export\.\{fmt\}|erase/)|/accounts/.*|/i18n/.*|/healthz|/api/docs|/api/v1/(docs|openapi.json))$")


@pytest.fixture
def objects(personas):
    from guanxi.dataquality.models import ResolutionRun

    m = personas.manager
    a = make_customer(m, full_name="张伟")
    b = make_customer(m, full_name="張偉")
    c = make_customer(m, full_name="李娜")
    d = make_customer(m, full_name="李 娜")
    e = make_customer(m, full_name="王芳", owner=personas.sales)
    merge = customers_merge(actor=m, survivor=c, absorbed=d)
    candidate = MatchCandidate.objects.create(left=a, right=b, probability=0.9, weight=5.0)
    segment = segment_save(actor=m, name="上海客户", rules={
        "field": "region", "operator": "equals", "value": "上海"})
    run = ResolutionRun.objects.create(created_by=m)
    CustomerScore.objects.create(customer=e, stage=Stage.NEW)
    from guanxi.automation.services import (
        automation_pause,
        automation_publish,
        automation_save,
    )

    automation = automation_save(actor=m, name="欢迎", trigger="timeline.event",
                                 trigger_config={"kind": "note"}, steps=STEPS)
    automation_publish(actor=m, automation=automation)
    paused = automation_save(actor=m, name="暂停的", trigger="timeline.event",
                             trigger_config={"kind": "note"}, steps=STEPS)
    automation_publish(actor=m, automation=paused)
    automation_pause(actor=m, automation=paused)
    from guanxi.integrations.models import WebhookEndpoint
    from guanxi.integrations.webhooks import delivery_create, new_secret

    endpoint = WebhookEndpoint.objects.create(name="ERP系统", url="https://93.184.215.14/h",
                                              secret=new_secret(), event_kinds=["note"])
    delivery = delivery_create(endpoint, message_id="msg_matrix", event_type="event.note",
                               payload={}, customer_id=e.pk)
    from guanxi.engagement.models import Suppression
    from guanxi.engagement.services import TextInput, template_save

    template = template_save(actor=m, name="回访", channel="email", purpose="service",
                             texts=[TextInput("zh-hans", "{{ customer.salutation }}，您好",
                                              "回访")])
    suppression = Suppression.objects.create(channel="email", address="x@example.com",
                                             reason="manual")
    from guanxi.engagement.campaigns import VariantInput, campaign_launch, campaign_save

    audience = segment_save(actor=m, name="杭州客户", rules={
        "field": "region", "operator": "contains", "value": "杭州"})
    campaign = campaign_save(actor=m, name="中秋活动", segment_id=audience.pk,
                             variants=[VariantInput(template.pk, 100)])
    sending = campaign_save(actor=m, name="发送中", segment_id=audience.pk,
                            variants=[VariantInput(template.pk, 100)])
    campaign_launch(actor=m, campaign=sending)
    from guanxi.engagement.services import message_send

    message = message_send(actor=m, customer=e, channel="email", purpose="service",
                           subject="回访", body="您好")
    from guanxi.servicedesk import kb, surveys
    from guanxi.servicedesk.models import Conversation, Invitation, Survey
    from guanxi.servicedesk.services import NewAttachment, ticket_open

    ticket = ticket_open(actor=m, customer=e, subject="发货慢", body="还没发货",
                         channel="phone",
                         attachments=[NewAttachment("单据.pdf", "application/pdf", b"%PDF-1")])
    ticket2 = ticket_open(actor=m, customer=e, subject="发货慢(2)", body="再问", channel="web")
    article = kb.article_save(actor=m, title="退货政策", body="七天无理由退货。",
                              language="zh-hans", questions=["怎么退货"], publish=True)
    survey = Survey.objects.create(name="满意度", kind="csat")
    invitation = Invitation.objects.create(survey=survey, customer=e, ticket=ticket,
                                           key="matrix-invitation")
    Conversation.objects.create(key="matrix-conversation")
    loyalty = _loyalty(m, e)
    desk = {"ticket": ticket.pk, "ticket2": ticket2.pk, "article": article.pk,
            "survey": survey.pk, "portal": surveys.sign("portal", ticket.portal_key),
            "invitation": surveys.sign("survey", invitation.key),
            "attachment": ticket.messages.first().attachments.first().pk}
    return {**desk, **loyalty, "customer": e.pk, "other": a.pk, "merge": merge.pk,
            "candidate": candidate.pk,
            "segment": segment.pk, "run": run.pk, "automation": automation.pk,
            "paused": paused.pk, "endpoint": endpoint.pk, "delivery": delivery.pk,
            "template": template.pk, "suppression": suppression.pk,
            "campaign": campaign.pk, "sending": sending.pk, "audience": audience.pk,
            "message": message.pk}


def _loyalty(m, e) -> dict:
    """A programme with tiers, a member with points, an order that earned, two held
    reservations, a pending adjustment, a coupon template, a coupon and a reward."""
    from decimal import Decimal

    from guanxi.customers.services import OrderLineInput, order_create
    from guanxi.loyalty import coupons, reservations, services
    from guanxi.loyalty.models import CouponTemplate, EarnRule, Programme, Reward, Tier
    from guanxi.loyalty.views import member_link

    Programme.objects.create(name="会员", action_points={"review": 10}, approval_above=100)
    Tier.objects.create(name="普通", threshold=0)
    order = order_create(actor=m, customer=e,
                         lines=[OrderLineInput(sku="TEA", unit_price=Decimal("500.00"))])
    services.points_earn_order(order=order)
    held = [reservations.reservation_create(actor=m, customer=e, points=3,
                                            idempotency_key=f"h{i}")["id"] for i in (1, 2)]
    pending = services.points_adjust(actor=m, customer=e, points=200, reason="大额",
                                     idempotency_key="p")["approval_id"]
    template = CouponTemplate.objects.create(name="减5元", kind="amount", value=5,
                                             per_customer=0)
    coupon = coupons.coupon_issue(actor=m, template=template, customer=e)
    reward = Reward.objects.create(name="茶杯", points=10)
    rule = EarnRule.objects.create(name="茶叶双倍", kind="category", match="tea")
    from guanxi.loyalty.referrals import referral_code

    code = referral_code(e)
    import datetime as dt

    from django.utils import timezone

    from guanxi.loyalty.draws import draw_save, parse_prizes

    draw = draw_save(actor=m, name="抽奖", cost=1, per_member=100,
                     starts_at=timezone.now() - dt.timedelta(hours=1),
                     ends_at=timezone.now() + dt.timedelta(days=1),
                     prizes=parse_prizes("茶杯, 1, 5\n谢谢参与, 9"))
    friend = make_customer(m, full_name="朋友", owner=e.owner)
    from guanxi.loyalty import events

    event = events.event_save(actor=m, data={
        "name": "品茶会", "capacity": 10, "points": 5, "open_to_members": "on",
        "starts_at": timezone.localtime() + dt.timedelta(hours=1),
        "ends_at": timezone.localtime() + dt.timedelta(hours=3)})
    registration = events.event_register(actor=m, event=event, customer=e)
    return {"order": order.pk, "held": held[0], "held2": held[1], "pending": pending,
            "coupon_template": template.pk, "coupon_code": f'"{coupon.code}"',
            "reward": reward.pk, "rule": rule.pk, "rule_kind": "rule",
            "member_page": member_link(e).removeprefix("/member/"),
            "referral_code": f'"{code}"', "referral_code_path": code, "friend": friend.pk,
            "draw": draw.pk, "event": event.pk,
            "check_in": events.check_in_token(registration)}


def _fill(text: str, objects: dict[str, int]) -> str:
    for name, pk in objects.items():
        text = text.replace(f'"{{{name}}}"', str(pk)).replace(f"{{{name}}}", str(pk))
    return text


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "url", "body", "allowed", "success"), API_CASES,
                         ids=[f"{c[0]} {c[1]}" for c in API_CASES])
def test_api_matrix(client, personas, objects, role, method, url, body, allowed, success):
    kwargs = {"headers": bearer(personas.by_role(role))}
    if body is not None:
        kwargs.update(data=_fill(json.dumps(body), objects), content_type="application/json")
    r = getattr(client, method)(_fill(url, objects), **kwargs)
    if role not in allowed and role == "sales" and "{customer}" in url:
        # another team's customer does not exist for sales
        assert r.status_code in (403, 404), r.content
        return
    assert r.status_code == (success if role in allowed else 403), r.content


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "url", "body", "allowed", "success"), PAGE_CASES,
                         ids=[f"{c[0]} {c[1]}" for c in PAGE_CASES])
def test_page_matrix(client, personas, objects, role, method, url, body, allowed, success):
    client.force_login(personas.by_role(role))
    data = json.loads(_fill(json.dumps(body), objects)) if body else {}
    r = getattr(client, method)(_fill(url, objects), data=data)
    if role in allowed:
        assert r.status_code == success
    elif url == "/":
        raise AssertionError("the home page is for everyone signed in")
    else:
        assert r.status_code == 403


@pytest.mark.parametrize("role", [*ROLES, "admin_not_superuser"])
@pytest.mark.parametrize(("url", "allowed"), ADMIN_CASES, ids=[c[0] for c in ADMIN_CASES])
def test_admin_site_follows_the_roles(client, personas, role, url, allowed):
    from guanxi.testing import UserFactory

    if role == "admin_not_superuser":
        user = UserFactory(username="admin2", role="admin", is_superuser=False,
                           is_staff=False)
        role = "admin"
    else:
        user = personas.by_role(role)
    client.force_login(user)
    r = client.get(url)
    if role in allowed:
        assert r.status_code == 200
        assert b'name="password"' not in r.content  # the page itself, not the sign-in form
    else:
        assert r.status_code in (302, 403)


def test_a_manager_reads_the_audit_log_and_an_admin_role_sees_staff(client, personas):
    from guanxi.testing import UserFactory

    client.force_login(personas.manager)
    page = client.get("/admin/audit/auditentry/")
    assert page.status_code == 200 and b"auditentry" in page.content
    assert client.get("/admin/accounts/user/").status_code == 403
    client.force_login(UserFactory(username="admin2", role="admin", is_superuser=False))
    index = client.get("/admin/")
    assert b"/admin/accounts/user/" in index.content
    assert b"/admin/audit/auditentry/" in index.content


def _routes() -> set[str]:
    paths = set(api.get_openapi_schema()["paths"])

    def walk(patterns: list, prefix: str) -> None:
        for p in patterns:
            route = prefix + str(p.pattern)
            if isinstance(p, URLResolver):
                if not route.startswith(("api/v1/", "admin/")):
                    walk(p.url_patterns, route)
            elif isinstance(p, URLPattern):
                paths.add("/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route))

    walk(get_resolver().url_patterns, "")
    return paths


def test_every_route_is_in_a_matrix():
    covered = {re.sub(r"\{\w+\}", "{x}", url.split("?")[0])
               for _m, url, *_rest in API_CASES + PAGE_CASES}
    missing = sorted(r for r in _routes()
                     if re.sub(r"\{\w+\}", "{x}", r) not in covered and not ELSEWHERE.match(r))
    assert not missing, f"add these to a permission matrix: {missing}"
