"""SMS, WeChat and push providers against the fake provider servers (which check the
signatures), and the signatures against the providers' own SDKs."""

from __future__ import annotations

import json

import pytest

from guanxi.core.work import work_drain
from guanxi.customers.models import IdentityKind
from guanxi.customers.services import IdentityInput, consent_set
from guanxi.engagement.fakes import FakeProviders
from guanxi.engagement.models import ChannelSetup, Message, MessageStatus, Suppression
from guanxi.engagement.outbox import Draft, queue_messages
from guanxi.engagement.providers.sms import aliyun_string_to_sign, tencent_headers
from guanxi.engagement.services import TextInput, template_save
from guanxi.testing import make_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake():
    server = FakeProviders().start()
    yield server
    server.stop()


def _setup(fake, channel, provider):
    ChannelSetup.objects.update_or_create(channel=channel, defaults={
        "provider": provider, "config": fake.config(provider), "quiet_start": "00:00",
        "quiet_end": "00:00", "rate_per_second": 1000})


def _customer(m, name, phone, **kw):
    customer = make_customer(m, full_name=name, family_name=name[0], given_name=name[1:],
                             gender="male", phones=[phone], **kw)
    for channel in ("sms", "wechat", "push"):
        consent_set(actor=m, customer=customer, channel=channel, purpose="marketing",
                    granted=True, source="test")
    return customer


def _send(template, *customers):
    queue_messages([Draft(key=f"{template.pk}:{c.pk}", customer_id=c.pk,
                          channel=template.channel, purpose="marketing", origin="campaign",
                          template_id=template.pk) for c in customers])
    work_drain()
    return {c: Message.objects.get(key=f"{template.pk}:{c.pk}") for c in customers}


@pytest.mark.parametrize("provider", ["aliyun", "tencent"])
def test_sms_through_aliyun_and_tencent(personas, fake, provider):
    m = personas.manager
    _setup(fake, "sms", provider)
    template = template_save(actor=m, name="中秋", channel="sms", purpose="marketing",
                             provider_template="SMS_123456",
                             texts=[TextInput("zh-hans", "{{ customer.salutation }}，中秋快乐")])
    good = _customer(m, "张伟", "13900139001")
    bad = _customer(m, "李雷", "13900130000")  # the fake refuses numbers ending in 0000
    sent = _send(template, good, bad)
    assert sent[good].status == MessageStatus.SENT and sent[good].provider_id
    assert sent[good].body == "【龙井茶庄】张先生，中秋快乐 回T退订"
    [got] = fake.of(provider)
    assert got["key"] == sent[good].key and got["template"] == "SMS_123456"
    assert "张先生" in json.dumps(got["params"], ensure_ascii=False)
    assert sent[bad].status == MessageStatus.FAILED
    assert Suppression.objects.filter(channel="sms", address="+8613900130000",
                                      reason="invalid").exists()


def test_wechat_template_messages_with_a_cached_token(personas, fake):
    m = personas.manager
    _setup(fake, "wechat", "wechat")
    template = template_save(actor=m, name="会员日", channel="wechat", purpose="marketing",
                             provider_template="TPL-1",
                             texts=[TextInput("zh-hans", "{{ customer.salutation }}，会员日到了")])
    ok = _customer(m, "王芳", "13900139002", identities=[IdentityInput(
        kind=IdentityKind.WECHAT_OPENID, value="o-follower-1", system="wxfake")])
    gone = _customer(m, "赵六", "13900139003", identities=[IdentityInput(
        kind=IdentityKind.WECHAT_OPENID, value="gone-1", system="wxfake")])
    sent = _send(template, ok, gone)
    assert sent[ok].status == MessageStatus.SENT
    assert fake.of("wechat")[0]["params"]["name"] == "王先生"
    assert sent[gone].status == MessageStatus.FAILED  # unfollowed: suppressed
    assert Suppression.objects.filter(channel="wechat", address="gone-1").exists()


def test_app_push_through_jpush(personas, fake):
    m = personas.manager
    _setup(fake, "push", "jpush")
    template = template_save(actor=m, name="上新", channel="push", purpose="marketing",
                             texts=[TextInput("zh-hans", "新茶上市", "龙井")])
    user = _customer(m, "钱七", "13900139004", identities=[IdentityInput(
        kind=IdentityKind.EXTERNAL, value="u-77", system="app")])
    sent = _send(template, user)
    assert sent[user].status == MessageStatus.SENT
    assert fake.of("jpush")[0] == {"provider": "jpush", "to": "u-77", "alert": "新茶上市",
                                   "key": fake.of("jpush")[0]["key"]}


def test_a_provider_down_is_retried_then_sends_once(personas, fake, monkeypatch):
    import datetime as dt

    from django.utils import timezone

    m = personas.manager
    _setup(fake, "sms", "aliyun")
    template = template_save(actor=m, name="回访", channel="sms", purpose="marketing",
                             provider_template="SMS_1", texts=[TextInput("zh-hans", "您好")])
    customer = _customer(m, "孙八", "13900139005")
    fake.failing = True
    message = _send(template, customer)[customer]
    assert (message.status, message.attempts) == (MessageStatus.QUEUED, 1)
    fake.failing = False
    later = timezone.now() + dt.timedelta(minutes=5)
    monkeypatch.setattr(timezone, "now", lambda: later)
    work_drain()
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and message.attempts == 2
    assert len(fake.of("aliyun")) == 1


def test_the_signatures_match_the_providers_sdks():
    from aliyunsdkcore.auth.composer import rpc_signature_composer
    from tencentcloud.common.sign import Sign

    params = {"AccessKeyId": "id", "Action": "SendSms", "PhoneNumbers": "13900139000",
              "SignName": "龙井茶庄", "TemplateParam": json.dumps({"name": "张先生 & co*~"}),
              "Timestamp": "2026-12-01T02:00:00Z", "SignatureNonce": "n1"}
    compose = getattr(rpc_signature_composer, "__compose_string_to_sign")
    assert aliyun_string_to_sign("POST", params) == compose("POST", params)
    headers = tencent_headers(secret_id="sid", secret_key="skey", host="sms.example",
                              body='{"a": 1}', timestamp=1764554400, region="ap-guangzhou")
    signature = headers["Authorization"].rsplit("Signature=", 1)[1]
    import hashlib

    canonical = ("POST\n/\n\ncontent-type:application/json; charset=utf-8\n"
                 "host:sms.example\nx-tc-action:sendsms\n\ncontent-type;host;x-tc-action\n"
                 + hashlib.sha256(b'{"a": 1}').hexdigest())
    to_sign = ("TC3-HMAC-SHA256\n1764554400\n2025-12-01/sms/tc3_request\n"
               + hashlib.sha256(canonical.encode()).hexdigest())
    assert signature == Sign.sign_tc3("skey", "2025-12-01", "sms", to_sign)


def test_sms_reports_and_replies_come_back(personas, fake, client):
    from guanxi.customers.models import Consent, Event
    from guanxi.engagement.services import channel_setup_save

    m = personas.manager
    setup = channel_setup_save(actor=m, channel="sms", provider_name="aliyun",
                               config=fake.config("aliyun"), quiet_start="00:00",
                               quiet_end="00:00")
    token = setup.config["callback_token"]
    template = template_save(actor=m, name="上新", channel="sms", purpose="marketing",
                             provider_template="SMS_9", texts=[TextInput("zh-hans", "新茶")])
    customer = _customer(m, "周九", "13900139009")
    message = _send(template, customer)[customer]
    report = [{"phone_number": "13900139009", "success": True, "biz_id": message.provider_id,
               "out_id": message.key, "err_code": "DELIVERED"}]
    assert client.post("/m/sms/wrong/report", report,
                       content_type="application/json").status_code == 404
    answer = client.post(f"/m/sms/{token}/report", report, content_type="application/json")
    assert answer.json()["handled"] == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED
    # a Tencent-style reply "退订" withdraws SMS marketing consent
    client.post(f"/m/sms/{token}/reply", {"mobile": "13900139009", "nationcode": "86",
                                          "text": "退订"}, content_type="application/json")
    assert Consent.objects.get(customer=customer, channel="sms",
                               purpose="marketing").granted is False
    assert Suppression.objects.filter(channel="sms", address="+8613900139009",
                                      reason="unsubscribed").exists()
    # any other reply is kept on the timeline
    client.post(f"/m/sms/{token}/reply", [{"phone_number": "13900139009",
                                           "content": "请问几点开门"}],
                content_type="application/json")
    assert Event.objects.filter(customer=customer, kind="message_reply",
                                data__text="请问几点开门").exists()


def test_email_service_tracking_events_are_mapped(personas, settings, client):
    import base64 as b64

    from guanxi.customers.models import Consent, Event

    settings.ANYMAIL = {"WEBHOOK_SECRET": "hook:secret"}
    m = personas.manager
    customer = make_customer(m, full_name="吴十", emails=["wu@example.com"])
    consent_set(actor=m, customer=customer, channel="email", purpose="marketing",
                granted=True, source="test")
    message = Message.objects.create(key="esp:1", customer=customer, channel="email",
                                     purpose="marketing", origin="campaign",
                                     status=MessageStatus.SENT, provider="anymail",
                                     provider_id="pm-123", address="wu@example.com")
    auth = {"HTTP_AUTHORIZATION": "Basic " + b64.b64encode(b"hook:secret").decode()}

    def post(body):
        return client.post("/anymail/postmark/tracking/", body,
                           content_type="application/json", **auth)

    assert post({"RecordType": "Delivery", "MessageID": "pm-123",
                 "Recipient": "wu@example.com", "DeliveredAt": "2026-12-01T02:00:00Z",
                 "Metadata": {}, "Tag": ""}).status_code == 200
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED
    post({"RecordType": "SpamComplaint", "MessageID": "pm-123", "Email": "wu@example.com",
          "BouncedAt": "2026-12-01T03:00:00Z", "Type": "SpamComplaint", "TypeCode": 512,
          "Metadata": {}, "Tag": "", "Description": "", "Details": "", "ID": 1})
    assert Suppression.objects.filter(address="wu@example.com", reason="complaint").exists()
    assert Consent.objects.get(customer=customer, channel="email",
                               purpose="marketing").granted is False
    assert Event.objects.filter(customer=customer, kind="message_delivered").exists()
