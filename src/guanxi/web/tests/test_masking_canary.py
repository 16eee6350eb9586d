"""The privacy canary: a customer whose contacts, birthday, street and custom attributes
are planted in every place they can reach (profile, identities, notes, timeline, search
terms), then every API response, page, export and search an analyst can open is read:
none may carry the canary's personal data. Extend the lists as apps add personal data."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile

import pytest

from guanxi.config.api import api
from guanxi.customers import services as cs
from guanxi.customers.models import Customer
from guanxi.testing import bearer, make_customer

pytestmark = pytest.mark.django_db

PHONE = "13708426755"
EMAIL = "canary.person@example.com"
SECRETS = [PHONE, "0842675", "canary.person", "canary_wx_886", "幸福路88号", "1988-03-04",
           "110101198803041234"]


@pytest.fixture
def canary(personas) -> Customer:
    m = personas.manager
    c = make_customer(m, full_name="金丝雀", phones=[PHONE], emails=[EMAIL],
                      birthday=dt.date(1988, 3, 4),
                      attributes={"wechat": "canary_wx_886", "id_card": "110101198803041234",
                                  "shoe_size": 42},
                      addresses=[cs.AddressInput(province="浙江省", city="杭州市",
                                                 district="西湖区", street="幸福路88号")])
    cs.identity_add(actor=m, customer=c, kind="wechat_openid", value="canary_wx_886")
    cs.interaction_log(actor=m, customer=c, kind="call",
                       summary=f"Called {PHONE[:3]} {PHONE[3:7]} {PHONE[7:]}, mail {EMAIL}")
    # the service desk: a ticket that quotes the contacts, a survey comment, a bot question
    from guanxi.engagement.models import ChannelSetup
    from guanxi.servicedesk import kb, services
    from guanxi.servicedesk.models import Invitation, Survey

    ChannelSetup.objects.create(channel="email", provider="log")
    Survey.objects.create(name="满意度", kind="csat", after_tickets=True)
    ticket = services.ticket_open(actor=None, subject=f"请回电 {PHONE}", channel="web",
                                  body=f"我的手机 {PHONE}，邮箱 {EMAIL}",
                                  contact=services.Contact(email=EMAIL))
    services.ticket_reply(actor=m, ticket=ticket, body=f"已致电 {PHONE}", status="solved")
    services.survey_answer(Invitation.objects.get(ticket=ticket), score=5,
                           comment=f"打 {PHONE} 很快接通")
    conversation = kb.conversation_for(kb.ask(f"{PHONE} 能退货吗", "zh-hans")["conversation"])
    kb.handoff(conversation=conversation, contact=services.Contact(email=EMAIL))
    # loyalty: a points adjustment and a coupon receipt that quote the phone
    from decimal import Decimal

    from guanxi.loyalty import coupons
    from guanxi.loyalty import services as loyalty
    from guanxi.loyalty.models import CouponTemplate, Programme

    Programme.objects.create(name="会员")
    loyalty.points_adjust(actor=m, customer=c, points=50, reason=f"来电 {PHONE} 补偿",
                          idempotency_key="canary")
    loyalty.points_redeem(actor=m, customer=c, points=5, idempotency_key="canary2",
                          reference=f"POS {PHONE}")
    coupon = coupons.coupon_issue(actor=m, customer=c, template=CouponTemplate.objects.create(
        name="券", kind="amount", value=5))
    coupons.coupons_redeem(actor=m, codes=[coupon.code], customer=c,
                           items=[coupons.Item("T", "", Decimal("9.00"))],
                           order_ref=f"单 {PHONE}", idempotency_key="canary3")
    c.desk = {"ticket_id": ticket.pk,  # type: ignore[attr-defined]
              "survey_id": Invitation.objects.get(ticket=ticket).survey_id}
    return c


def _body(response) -> str:
    if response.get("Content-Type", "").startswith(
            "application/vnd.openxmlformats-officedocument"):
        raw = (b"".join(response.streaming_content) if getattr(response, "streaming", False)
               else response.content)
        with zipfile.ZipFile(io.BytesIO(raw)) as z:
            return "".join(z.read(n).decode() for n in z.namelist() if n.endswith(".xml"))
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def _leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


def test_no_api_response_carries_the_canary(client, personas, canary):
    from decimal import Decimal

    from guanxi.analytics.services import segment_save

    headers = bearer(personas.analyst)
    segment = segment_save(actor=personas.manager, name="金丝雀们", rules={
        "field": "tag", "operator": "not_has", "value": "无此标签"})
    order = cs.order_create(actor=personas.manager, customer=canary, lines=[
        cs.OrderLineInput(sku="TEA", quantity=1, unit_price=Decimal("9.90"), name="茶")])
    ids = {"customer_id": canary.pk, "segment_id": segment.pk, "order_id": order.pk,
           **canary.desk}
    seen = 0
    for path, ops in api.get_openapi_schema()["paths"].items():
        if "get" not in ops:
            continue
        params = re.findall(r"\{(\w+)\}", path)
        if any(p not in ids for p in params):
            continue
        url = path
        for p in params:
            url = url.replace("{" + p + "}", str(ids[p]))
        r = client.get(url, headers=headers)
        seen += 1
        assert not _leaks(_body(r)), (url, _leaks(_body(r)))
    assert seen >= 15
    for q in ("金丝雀", "jinsique", EMAIL, PHONE):
        r = client.get(f"/api/v1/customers?q={q}", headers=headers)
        assert r.status_code == 200 and not _leaks(r.content.decode()), q


@pytest.mark.parametrize("url", [
    "/customers/", "/customers/?q=金丝雀", "/customers/{id}/", "/customers/{id}/timeline/",
    "/customers/export.csv", "/customers/export.csv?format=xlsx", "/analytics/",
    "/analytics/segments/", "/analytics/scores.csv", "/analytics/scores.csv?format=xlsx",
    "/desk/?view=all", "/desk/{ticket}/", "/desk/surveys/{survey}/", "/desk/bot/",
    "/search/?q=请回电", "/loyalty/", "/loyalty/customers/{id}/",
])
def test_no_page_or_export_carries_the_canary(client, personas, canary, url):
    client.force_login(personas.analyst)
    r = client.get(url.replace("{id}", str(canary.pk))
                   .replace("{ticket}", str(canary.desk["ticket_id"]))
                   .replace("{survey}", str(canary.desk["survey_id"])))
    assert r.status_code == 200
    text = _body(r)
    assert not _leaks(text), _leaks(text)
    if url.startswith("/customers/{id}") and "timeline" not in url:
        assert "137****6755" in text  # the masked form is shown instead


@pytest.mark.parametrize("q", ["1370842", "137084267", "6755", "137", "canary",
                               "canary.per"])
def test_search_by_part_of_a_contact_finds_nothing_for_a_masked_role(client, personas,
                                                                    canary, q):
    r = client.get(f"/api/v1/customers?q={q}", headers=bearer(personas.analyst))
    assert r.json()["items"] == [], q
    # staff who see contacts find the customer by the same part
    r = client.get(f"/api/v1/customers?q={q}", headers=bearer(personas.manager))
    assert [c["id"] for c in r.json()["items"]] == [canary.pk], q


@pytest.mark.parametrize("q", [PHONE, "+86 137 0842 6755", EMAIL])
def test_a_masked_role_finds_a_customer_by_the_whole_contact(client, personas, canary, q):
    r = client.get("/api/v1/customers", {"q": q}, headers=bearer(personas.analyst))
    assert [c["id"] for c in r.json()["items"]] == [canary.pk]
