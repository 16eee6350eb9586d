"""The privacy canary: a person's data is planted in every field and place it can reach
(profile, contacts, addresses, consents, orders, the timeline, audit values, a merged
duplicate, a duplicate candidate, an import file and its error report, scores and
segments). The data-subject export contains every planted value; after erasure not one
is left in the database, the var/ files, a backup made afterwards or the logs — while the
order amounts still add up."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
import sqlite3
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from django.db.models import Sum

from guanxi.analytics.services import segment_save
from guanxi.audit.models import AuditEntry
from guanxi.customers import services
from guanxi.customers.models import Customer, Order
from guanxi.customers.services.addresses import AddressInput
from guanxi.customers.services.orders import OrderLineInput
from guanxi.dataquality import importing
from guanxi.dataquality.models import MatchCandidate
from guanxi.dataquality.services import customers_merge
from guanxi.privacy.services import personal_data_export, personal_data_xlsx
from guanxi.testing import bearer, grant_marketing, make_customer

pytestmark = pytest.mark.django_db

NAME = "欧阳雀鸣"
CANARIES = {
    "display_name": NAME,
    "occupation": "金丝雀饲养员QZ7",
    "attribute": "雀雀侠QZ7",
    "email": "canary.qz7@example.com",
    "phone": "13912345678",
    "wechat": "wx_canary_qz7",
    "external": "EXT-CANARY-QZ7",
    "street": "金丝雀路77号QZ7",
    "proof": "签名表QZ7-PROOF",
    "summary": "QZ7回访：金丝雀很满意",
    "order": "ORD-QZ7-001",
    "dup_email": "qz7.dup@example.com",
    "dup_phone": "13987654321",
    "import_bad_email": "bad-qz7@",
    "message": "QZ7金丝雀专属问候",
    "ticket": "QZ7工单：金丝雀没收到货",
    "ticket_reply": "QZ7客服：金丝雀已补发",
    "survey": "QZ7评价：金丝雀很快",
    "bot": "QZ7机器人：金丝雀能退吗",
    "points_reason": "QZ7积分：金丝雀生日补偿",
    "coupon_ref": "QZ7-POS-金丝雀",
}


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["姓名", "手机", "邮箱"])
    writer.writerows(rows)
    return out.getvalue().encode()


def _plant(personas, django_capture_on_commit_callbacks) -> Customer:
    admin = personas.admin
    person = make_customer(admin, full_name=NAME, phones=[CANARIES["phone"]],
                           emails=[CANARIES["email"]], birthday=dt.date(1991, 7, 7),
                           attributes={"nickname": CANARIES["attribute"]}, region="上海")
    services.customer_update(actor=admin, customer=person,
                             occupation=CANARIES["occupation"])
    services.identity_add(actor=admin, customer=person, kind="wechat_openid",
                          value=CANARIES["wechat"], system="wxapp1")
    services.identity_add(actor=admin, customer=person, kind="external",
                          value=CANARIES["external"], system="shop")
    services.address_add(actor=admin, customer=person, address=AddressInput(
        province="浙江省", city="杭州市", street=CANARIES["street"], postcode="310012"))
    services.consent_set(actor=admin, customer=person, channel="sms", purpose="marketing",
                         granted=True, source="门店", proof=CANARIES["proof"])
    services.interaction_log(actor=admin, customer=person, kind="call",
                             summary=CANARIES["summary"])
    services.product_upsert(actor=admin, sku="TEA-QZ", name="龙井", price=Decimal("88.00"))
    services.order_create(actor=admin, customer=person, external_id=CANARIES["order"],
                          lines=[OrderLineInput(sku="TEA-QZ", quantity=2)])
    # a duplicate with more of the person's contacts, merged into them
    dup = make_customer(admin, full_name=NAME, phones=[CANARIES["dup_phone"]],
                        emails=[CANARIES["dup_email"]])
    customers_merge(actor=admin, survivor=person, absorbed=dup)
    other = make_customer(admin, full_name="欧阳鸣")
    MatchCandidate.objects.create(left=person, right=other, probability=0.7, weight=2.0,
                                  explanation=[{"field": "phone",
                                                "left": CANARIES["phone"], "right": ""}])
    # an import file with the person's row and a broken row of theirs, and someone else's
    data = _csv([[NAME, CANARIES["phone"], CANARIES["email"]],
                 [NAME, CANARIES["phone"], CANARIES["import_bad_email"]],
                 ["王芳", "13800001111", "wang@example.com"]])
    job = importing.import_upload(actor=admin, name="members.csv", chunks=iter([data]),
                                  size=len(data), kind="customers")
    importing.import_configure(actor=admin, job=job, mapping=job.mapping)
    with django_capture_on_commit_callbacks(execute=True):
        importing.import_start(actor=admin, job=job)
    job.refresh_from_db()
    assert job.row_errors.filter(value__contains="bad-qz7").exists(), (job.failed, job.warned)
    segment_save(actor=admin, name="上海客户", rules={"field": "region", "operator": "equals",
                                                    "value": "上海"})
    grant_marketing(admin, other)
    # an automation the person went through, and webhook messages carrying their events
    from guanxi.automation.services import automation_enrol, automation_publish, automation_save
    from guanxi.core.work import work_drain
    from guanxi.integrations.models import WebhookEndpoint
    from guanxi.integrations.registrations import read_events
    from guanxi.integrations.webhooks import new_secret
    from guanxi.timeline.cursors import cursor_open

    automation = automation_save(actor=admin, name="回访", trigger="timeline.event",
                                 trigger_config={"kind": "note"}, steps=[
                                     {"id": "a", "type": "action",
                                      "action": "customers.tag_add", "config": {"tag": "回访"}}])
    automation_publish(actor=admin, automation=automation)
    automation_enrol(actor=admin, automation=automation, customer=person)
    work_drain(["automation.step"])
    cursor_open("integrations.webhooks", from_start=True)
    WebhookEndpoint.objects.create(name="ERP", url="https://93.184.215.14/h",
                                   secret=new_secret(), event_kinds=["*"], active=True)
    read_events()
    from guanxi.integrations.models import WebhookDelivery

    assert WebhookDelivery.objects.filter(customer_id=person.pk).count() > 5
    # a message sent to them (its address and text are kept with it)
    from guanxi.engagement.models import ChannelSetup, Message
    from guanxi.engagement.services import message_send

    ChannelSetup.objects.create(channel="email", provider="log", quiet_start="00:00",
                                quiet_end="00:00")
    message_send(actor=admin, customer=person, channel="email", purpose="transactional",
                 subject="订单", body=CANARIES["message"])
    work_drain(["engagement.send"])
    assert Message.objects.get(customer=person).address == CANARIES["email"]
    # the service desk: their ticket (with an attachment), its reply, their CSAT comment,
    # and a conversation with the FAQ bot handed over to a person
    from guanxi.servicedesk import kb
    from guanxi.servicedesk import services as desk
    from guanxi.servicedesk.models import Invitation, Survey

    Survey.objects.create(name="满意度", kind="csat", after_tickets=True)
    ticket = desk.ticket_open(
        actor=None, subject=CANARIES["ticket"], body=CANARIES["ticket"], channel="web",
        contact=desk.Contact(email=CANARIES["email"]),
        attachments=[desk.NewAttachment("qz7.txt", "text/plain",
                                        CANARIES["ticket"].encode())])
    assert ticket.customer_id == person.pk
    desk.ticket_reply(actor=admin, ticket=ticket, body=CANARIES["ticket_reply"],
                      status="solved")
    desk.survey_answer(Invitation.objects.get(ticket=ticket), score=5,
                       comment=CANARIES["survey"])
    asked = kb.ask(CANARIES["bot"], "zh-hans")
    kb.handoff(conversation=kb.conversation_for(asked["conversation"]),
               contact=desk.Contact(email=CANARIES["email"]))
    work_drain(["engagement.send"])
    # loyalty: points adjusted with a reason naming them, a coupon used on a receipt
    from guanxi.loyalty import coupons
    from guanxi.loyalty import services as loyalty
    from guanxi.loyalty.models import CouponTemplate

    loyalty.points_adjust(actor=admin, customer=person, points=50,
                           reason=CANARIES["points_reason"], idempotency_key="canary")
    loyalty.points_redeem(actor=admin, customer=person, points=10, idempotency_key="c2",
                           reference=CANARIES["coupon_ref"])
    template = CouponTemplate.objects.create(name="生日券", kind="amount", value=5)
    coupon = coupons.coupon_issue(actor=admin, template=template, customer=person)
    coupons.coupons_redeem(actor=admin, codes=[coupon.code], customer=person,
                           items=[coupons.Item("TEA", "", Decimal("20.00"))],
                           order_ref=CANARIES["coupon_ref"], idempotency_key="c3")
    # a member event they registered for
    from django.utils import timezone

    from guanxi.loyalty import events

    event = events.event_save(actor=admin, data={
        "name": "品茶会", "capacity": 5, "points": 10, "open_to_members": "on",
        "starts_at": timezone.localtime() + dt.timedelta(days=2),
        "ends_at": timezone.localtime() + dt.timedelta(days=2, hours=2)})
    events.event_register(actor=None, event=event, customer=person, source="member")
    return person


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [str(value)]


def _database_text() -> dict[str, str]:
    """Every table's content as text."""
    out = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT * FROM "{table}"')
            out[table] = "\n".join(repr(row) for row in cursor.fetchall())
    return out


def _file_text(path: Path) -> str:
    data = path.read_bytes()
    if data[:2] == b"PK":  # xlsx and other zip files: their members
        with zipfile.ZipFile(path) as z:
            return "\n".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
    if data[:16] == b"SQLite format 3\x00":
        db = sqlite3.connect(path)
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        text = "\n".join(repr(row) for t in tables
                         for row in db.execute(f'SELECT * FROM "{t}"'))
        db.close()
        return text
    return data.decode("utf-8", "replace")


def _assert_no_canary_in_database_or_files(var_dir: Path) -> None:
    leftovers = {table: found for table, text in _database_text().items()
                 if (found := _found(text))}
    assert not leftovers, leftovers
    files = {str(p): found for p in var_dir.rglob("*") if p.is_file()
             and (found := _found(_file_text(p)))}
    assert not files, files


def _found(text: str) -> list[str]:
    # JSON columns keep non-ASCII characters escaped on SQLite ("\u91d1"), and the rows
    # are shown by repr() (which doubles the backslash): look for each form
    def forms(v: str) -> tuple[str, ...]:
        escaped = json.dumps(v)[1:-1]
        return (v, escaped, escaped.replace("\\", "\\\\"))

    return [k for k, v in CANARIES.items() if any(f in text for f in forms(v))]


@pytest.mark.django_db(transaction=True)  # the event consumer reads what has committed
def test_export_holds_every_planted_value_and_erasure_leaves_none(
        personas, huey_immediate, settings, django_capture_on_commit_callbacks, caplog,
        client):
    caplog.set_level(logging.DEBUG)
    person = _plant(personas, django_capture_on_commit_callbacks)
    total_before = Order.objects.aggregate(t=Sum("total"))["t"]

    # access: every planted value, in every form
    data = personal_data_export(actor=personas.admin, customer_id=person.pk)
    exported = "\n".join(_strings(data))
    missing = [k for k, v in CANARIES.items()
               if v not in exported and k not in ("import_bad_email",)]
    assert not missing, missing
    assert "1991-07-07" in exported and data["language"] == "zh-hans"
    assert CANARIES["import_bad_email"] in exported  # the import file's rows are theirs
    assert data["title"] == "我们持有的您的个人数据"
    assert "回访" in exported  # the automation they went through
    events_part = next(s for s in data["sections"] if s["name"] == "loyalty.events")
    assert events_part["rows"][0]["event"] == "品茶会"
    book = personal_data_xlsx(data)
    assert all(v in _file_text_bytes(book) for v in CANARIES.values())
    # and through the API, for the privacy officer only
    assert client.get(f"/api/v1/customers/{person.pk}/personal-data",
                      headers=bearer(personas.manager)).status_code == 403
    api = client.get(f"/api/v1/customers/{person.pk}/personal-data",
                     headers=bearer(personas.admin))
    assert api.status_code == 200 and CANARIES["wechat"] in api.content.decode()

    # erasure, through the API
    r = client.post(f"/api/v1/customers/{person.pk}/erasure", {"reason": "PIPL-2026-001"},
                    content_type="application/json", headers=bearer(personas.admin))
    assert r.status_code == 200, r.content
    assert r.json()["erased"]["customers.identities"] == 6  # 4 own, 2 from the duplicate
    # (a backup made from now on copies these tables: operations/tests check that a
    # backup holds exactly the database's rows)
    _assert_no_canary_in_database_or_files(Path(settings.VAR_DIR))
    logged = [k for k, v in CANARIES.items() if v in caplog.text]
    assert not logged, logged

    # what remains: the anonymous row, its orders' amounts, a receipt without the data
    person.refresh_from_db()
    assert person.erased_at is not None and person.display_name == "[erased]"
    from guanxi.loyalty.models import Registration

    assert not Registration.objects.filter(customer=person).exists()
    assert Order.objects.aggregate(t=Sum("total"))["t"] == total_before
    receipt = AuditEntry.objects.get(action="privacy.erase")
    assert receipt.extra["reason"] == "PIPL-2026-001" and receipt.customer_id == person.pk
    assert AuditEntry.objects.filter(customer_id=person.pk, redacted_at__isnull=False).exists()
    # gone from lists and search; erasing twice is refused
    from guanxi.customers.selectors import customer_search

    assert not customer_search(actor=personas.admin, q=NAME).items
    again = client.post(f"/api/v1/customers/{person.pk}/erasure", {},
                        content_type="application/json", headers=bearer(personas.admin))
    assert again.status_code == 409


def _file_text_bytes(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return "\n".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())


@pytest.mark.django_db(transaction=True)  # the event consumer reads what has committed
def test_deleting_a_customer_leaves_no_trace_in_audit_merges_or_files(
        personas, huey_immediate, settings, django_capture_on_commit_callbacks, client):
    person = _plant(personas, django_capture_on_commit_callbacks)
    r = client.delete(f"/api/v1/customers/{person.pk}", headers=bearer(personas.manager))
    assert r.status_code == 204
    _assert_no_canary_in_database_or_files(Path(settings.VAR_DIR))


def test_the_privacy_pages(client, personas):
    person = make_customer(personas.admin, full_name=NAME, phones=[CANARIES["phone"]])
    client.force_login(personas.manager)
    records = client.get("/privacy/")
    assert records.status_code == 200 and b"customers.identities" in records.content
    assert client.get(f"/privacy/people/{person.pk}/").status_code == 403
    client.force_login(personas.admin)
    page = client.get(f"/privacy/people/{person.pk}/")
    assert page.status_code == 200
    r = client.get(f"/privacy/people/{person.pk}/export.xlsx")
    assert r.status_code == 200 and CANARIES["phone"] in _file_text_bytes(r.content)
    # erasure needs the number typed
    client.post(f"/privacy/people/{person.pk}/erase/", {"confirm": "yes"})
    assert Customer.objects.get(pk=person.pk).erased_at is None
    r = client.post(f"/privacy/people/{person.pk}/erase/", {"confirm": str(person.pk)})
    assert r.status_code == 200 and b"erased" in r.content
    assert Customer.objects.get(pk=person.pk).erased_at is not None
