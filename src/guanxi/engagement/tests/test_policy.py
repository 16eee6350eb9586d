"""The one send policy, checked at dispatch: consent, suppression, quiet hours in the
customer's time zone, the frequency cap, one message per key; every refusal recorded
with its reason."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from guanxi.core.work import work_drain
from guanxi.customers.models import Event
from guanxi.customers.services import consent_set
from guanxi.engagement.models import ChannelSetup, Message, MessageStatus, Policy, Suppression
from guanxi.engagement.outbox import Draft, queue_message, queue_messages
from guanxi.engagement.policy import quiet_until
from guanxi.testing import make_customer

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")


_N = itertools.count(1)


def _customer(actor, *, consent=("email", "marketing"), email="", **kw):
    n = next(_N)
    customer = make_customer(actor, emails=[email or f"c{n}@example.com"],
                             phones=[f"1380013{n:04d}"], **kw)
    if consent:
        consent_set(actor=actor, customer=customer, channel=consent[0], purpose=consent[1],
                    granted=True, source="test")
    return customer


def _draft(customer, key, *, purpose="marketing", channel="email", due=None):
    return Draft(key=key, customer_id=customer.pk, channel=channel, purpose=purpose,
                 origin="staff", subject="你好", body="{{ customer.salutation }}，您好",
                 due_at=due)


def _status(key):
    m = Message.objects.get(key=key)
    return m.status, m.reason


def test_consent_is_needed_except_for_transactional(personas, log_channels):
    m = personas.manager
    yes = _customer(m)
    no = _customer(m, consent=None, full_name="无同意")
    queue_messages([_draft(yes, "a"), _draft(no, "b"), _draft(no, "c", purpose="transactional")])
    work_drain()
    assert _status("a") == (MessageStatus.SENT, "")
    assert _status("b") == (MessageStatus.NOT_SENT, "no_consent")
    assert _status("c") == (MessageStatus.SENT, "")
    kinds = list(Event.objects.filter(customer_id=no.pk,
                                              kind__startswith="message_")
                 .values_list("kind", "data__reason"))
    assert ("message_not_sent", "no_consent") in kinds


def test_consent_withdrawn_after_queueing_stops_the_message(personas, log_channels):
    m = personas.manager
    customer = _customer(m)
    queue_message(_draft(customer, "later"))
    consent_set(actor=m, customer=customer, channel="email", purpose="marketing",
                granted=False, source="phone call")
    work_drain()
    assert _status("later") == (MessageStatus.NOT_SENT, "no_consent")


def test_the_suppression_list(personas, log_channels):
    m = personas.manager
    customer = _customer(m, email="li@example.com")
    Suppression.objects.create(channel="email", address="li@example.com",
                               reason="unsubscribed")
    queue_messages([_draft(customer, "mkt"), _draft(customer, "tx", purpose="transactional")])
    work_drain()
    assert _status("mkt") == (MessageStatus.NOT_SENT, "suppressed")
    assert _status("tx")[0] == MessageStatus.SENT  # unsubscribing stops marketing only
    Suppression.objects.filter(address="li@example.com").update(reason="hard_bounce")
    queue_message(_draft(customer, "tx2", purpose="transactional"))
    work_drain()
    assert _status("tx2") == (MessageStatus.NOT_SENT, "suppressed")


def test_the_frequency_cap_counts_marketing_across_channels(personas, log_channels):
    m = personas.manager
    customer = _customer(m)
    consent_set(actor=m, customer=customer, channel="sms", purpose="marketing", granted=True,
                source="test")
    Policy.objects.create(cap_messages=2, cap_days=7)
    queue_messages([_draft(customer, "1"), _draft(customer, "2", channel="sms"),
                    _draft(customer, "3"), _draft(customer, "svc", purpose="transactional")])
    work_drain()
    statuses = [_status(k) for k in ("1", "2", "3")]
    assert statuses.count((MessageStatus.SENT, "")) == 2
    assert statuses.count((MessageStatus.NOT_SENT, "frequency_cap")) == 1
    assert _status("svc")[0] == MessageStatus.SENT  # not counted, not capped


def test_one_message_per_key_ever(personas, log_channels):
    m = personas.manager
    customer = _customer(m)
    assert queue_messages([_draft(customer, "once")]) == 1
    assert queue_messages([_draft(customer, "once")]) == 0
    work_drain()
    queue_messages([_draft(customer, "once")])
    work_drain()
    assert Message.objects.filter(key="once").count() == 1
    assert Event.objects.filter(kind="message_sent").count() == 1


def test_quiet_hours_window():
    at = dt.datetime(2026, 12, 1, 22, 30, tzinfo=SHANGHAI)
    start, end = dt.time(21), dt.time(8)
    assert quiet_until(at, start, end) == dt.datetime(2026, 12, 2, 8, 0, tzinfo=SHANGHAI)
    early = dt.datetime(2026, 12, 1, 6, 0, tzinfo=SHANGHAI)
    assert quiet_until(early, start, end) == dt.datetime(2026, 12, 1, 8, 0, tzinfo=SHANGHAI)
    assert quiet_until(dt.datetime(2026, 12, 1, 12, 0, tzinfo=SHANGHAI), start, end) is None
    assert quiet_until(at, dt.time(0), dt.time(0)) is None  # no quiet hours
    assert quiet_until(dt.datetime(2026, 12, 1, 13, 0, tzinfo=SHANGHAI), dt.time(12),
                       dt.time(14)) == dt.datetime(2026, 12, 1, 14, 0, tzinfo=SHANGHAI)


def test_a_message_due_at_night_is_held_until_morning_in_the_customers_zone(
        personas, log_channels, monkeypatch):
    m = personas.manager
    ChannelSetup.objects.filter(channel="email").update(quiet_start="21:00", quiet_end="08:00")
    berlin = _customer(m, full_name="Anna", attributes={"time_zone": "Europe/Berlin"})
    shanghai = _customer(m, full_name="李雷")
    # 15:00 UTC: 23:00 in Shanghai (quiet), 16:00 in Berlin (not)
    now = dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC)
    monkeypatch.setattr(timezone, "now", lambda: now)
    queue_messages([_draft(berlin, "berlin", due=now), _draft(shanghai, "shanghai", due=now)])
    work_drain()
    assert _status("berlin")[0] == MessageStatus.SENT
    held = Message.objects.get(key="shanghai")
    assert (held.status, held.reason) == (MessageStatus.HELD, "quiet_hours")
    assert held.due_at == dt.datetime(2026, 12, 2, 8, 0, tzinfo=SHANGHAI)
    # the transactional ones are not held
    queue_message(_draft(shanghai, "receipt", purpose="transactional", due=now))
    work_drain()
    assert _status("receipt")[0] == MessageStatus.SENT
    # at 08:00:30 the held message goes out
    later = dt.datetime(2026, 12, 2, 0, 0, 30, tzinfo=dt.UTC)
    monkeypatch.setattr(timezone, "now", lambda: later)
    work_drain()
    sent = Message.objects.get(key="shanghai")
    assert sent.status == MessageStatus.SENT
    assert sent.sent_at == later


def test_no_address_and_erased(personas, log_channels):
    m = personas.manager
    customer = _customer(m, consent=("wechat", "marketing"))
    queue_message(_draft(customer, "wx", channel="wechat"))
    work_drain()
    assert _status("wx") == (MessageStatus.NOT_SENT, "no_address")


def test_the_text_is_rendered_at_dispatch_in_the_customers_language(personas, log_channels):
    from guanxi.engagement.services import TextInput, template_save

    m = personas.manager
    zh = _customer(m, full_name="王芳", family_name="王", given_name="芳", gender="female")
    en = _customer(m, full_name="John Smith", family_name="Smith", given_name="John",
                   gender="male", preferred_language="en")
    unknown = _customer(m, full_name="张三")
    template = template_save(actor=m, name="hello", channel="email", purpose="marketing",
                             texts=[TextInput("zh-hans", "{{ customer.salutation }}，您好",
                                              "问候"),
                                    TextInput("en", "Dear {{ customer.salutation }},",
                                              "Hello")])
    queue_messages([Draft(key=f"t{c.pk}", customer_id=c.pk, channel="email",
                          purpose="marketing", origin="campaign", template_id=template.pk)
                    for c in (zh, en, unknown)])
    work_drain()
    bodies = {c: Message.objects.get(key=f"t{c.pk}").body for c in (zh, en, unknown)}
    assert bodies[zh] == "王女士，您好"
    assert bodies[en] == "Dear Mr Smith,"
    assert bodies[unknown] == "张三，您好"
    assert Message.objects.get(key=f"t{en.pk}").language == "en"


def test_a_batch_takes_only_its_share_of_the_rate_limit(personas, log_channels, monkeypatch):
    """Messages due together are dispatched by one work item; at 2 messages/s with at most
    1 s of waiting per item, the item sends 2 and leaves the rest to a later item."""
    from guanxi.core.models import WorkItem, WorkState
    from guanxi.core.work import work_run_one
    from guanxi.engagement import outbox

    monkeypatch.setattr(outbox, "MAX_WAIT_S", 1.0)
    ChannelSetup.objects.filter(channel="email").update(rate_per_second=2)
    people = [_customer(personas.manager, consent=("email", "service")) for _ in range(5)]
    queue_messages([_draft(c, f"r{i}", purpose="service") for i, c in enumerate(people)])
    assert WorkItem.objects.filter(queue="engagement.send").count() == 1  # one batch
    work_run_one(["engagement.send"])
    sent = Message.objects.filter(status=MessageStatus.SENT).count()
    assert sent == 2
    later = WorkItem.objects.get(queue="engagement.send", state=WorkState.QUEUED)
    assert len(later.payload["messages"]) == 3
    for _ in range(3):  # time passes: the later items come due (2, then the last 1)
        WorkItem.objects.filter(state=WorkState.QUEUED).update(run_after=timezone.now())
        work_drain(["engagement.send"])
    assert Message.objects.filter(status=MessageStatus.SENT).count() == 5
