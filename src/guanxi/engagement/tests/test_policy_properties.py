"""Property tests of the send policy: the pure verdict over every combination of facts,
random histories of consent, suppression and time through the real outbox, and the
frequency cap under four workers dispatching at once."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, connections
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guanxi.core.work import work_drain
from guanxi.customers.services import consent_set
from guanxi.engagement.models import (
    MARKETING_ONLY,
    OUT,
    ChannelSetup,
    Message,
    MessageStatus,
    Policy,
    Purpose,
    Suppression,
    SuppressionReason,
)
from guanxi.engagement.outbox import Draft, queue_messages
from guanxi.engagement.policy import CAPPED, NEED_CONSENT, Facts, quiet_until, verdict
from guanxi.testing import make_customer

SHANGHAI = ZoneInfo("Asia/Shanghai")
QUIET = (dt.time(21), dt.time(8))


@settings(max_examples=5000, deadline=None)
@given(purpose=st.sampled_from(Purpose.values), erased=st.booleans(), active=st.booleans(),
       address=st.sampled_from(["", "a@example.com"]), consented=st.booleans(),
       suppressed=st.frozensets(st.sampled_from(SuppressionReason.values)),
       quiet=st.booleans(), sent=st.integers(0, 6), cap=st.integers(0, 4))
def test_the_verdict_never_breaks_a_rule(purpose, erased, active, address, consented,
                                         suppressed, quiet, sent, cap):
    end = dt.datetime(2026, 12, 2, 8, tzinfo=SHANGHAI) if quiet else None
    d = verdict(Facts(purpose=purpose, erased=erased, channel_active=active, address=address,
                      consented=consented, suppressed=suppressed, quiet_until=end,
                      sent_in_window=sent, cap=cap))
    if d.send:
        assert not erased and active and address
        assert consented or purpose not in NEED_CONSENT
        assert not (suppressed - MARKETING_ONLY)
        assert not suppressed or purpose not in CAPPED
        assert end is None or purpose == Purpose.TRANSACTIONAL
        assert not (purpose in CAPPED and cap and sent >= cap)
    if d.hold_until is not None:  # held, never dropped: only for quiet hours
        assert not d.send and d.reason == "quiet_hours" and d.hold_until == end
    if not d.send and d.hold_until is None:
        assert d.reason  # every refusal has its reason


@settings(max_examples=3000, deadline=None)
@given(minute=st.integers(0, 24 * 60 - 1), start=st.integers(0, 23), end=st.integers(0, 23))
def test_quiet_hours_end_is_the_first_moment_outside(minute, start, end):
    local = dt.datetime(2026, 12, 1, tzinfo=SHANGHAI) + dt.timedelta(minutes=minute)
    until = quiet_until(local, dt.time(start), dt.time(end))
    if until is None:
        return
    assert until > local and until - local <= dt.timedelta(hours=24)
    assert until.time() == dt.time(end)
    assert quiet_until(until, dt.time(start), dt.time(end)) is None


# --- histories through the real outbox ---------------------------------------------------

OPS = st.lists(st.one_of(
    st.tuples(st.just("consent"), st.sampled_from(["marketing", "service"]), st.booleans()),
    st.tuples(st.just("suppress"), st.sampled_from(SuppressionReason.values), st.booleans()),
    st.tuples(st.just("queue"), st.sampled_from(Purpose.values), st.just(None)),
    st.tuples(st.just("wait"), st.integers(1, 600), st.just(None)),
), min_size=3, max_size=25)
_N = itertools.count(1)


@pytest.mark.django_db
@settings(max_examples=1000, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(ops=OPS, hour=st.integers(0, 23))
def test_random_histories_keep_every_rule_at_dispatch(personas, monkeypatch, ops, hour):
    ChannelSetup.objects.update_or_create(channel="email", defaults={
        "provider": "log", "quiet_start": QUIET[0], "quiet_end": QUIET[1],
        "rate_per_second": 10000, "next_slot": 0})  # each example's clock starts afresh
    Policy.objects.update_or_create(pk=1, defaults={"cap_messages": 2, "cap_days": 7})
    clock = [dt.datetime(2026, 12, 1, hour, 30, tzinfo=SHANGHAI)]
    monkeypatch.setattr(timezone, "now", lambda: clock[0])
    n = next(_N)
    address = f"p{n}@example.com"
    customer = make_customer(personas.manager, full_name=f"性质{n}", emails=[address])
    # the model: what the customer has agreed to and whether the address is on the list,
    # as of now; every message that goes out in a drain is checked against it
    granted = {"marketing": False, "service": False}
    suppressed: str | None = None
    seen: set[int] = set()
    mine = Message.objects.filter(customer=customer)

    def drain_and_check() -> None:
        work_drain(["engagement.send"])
        for m in mine.filter(status__in=OUT).exclude(pk__in=seen):
            seen.add(m.pk)
            local = m.sent_at.astimezone(SHANGHAI)
            if m.purpose != Purpose.TRANSACTIONAL:
                assert quiet_until(local, *QUIET) is None, (m.key, local)
            if m.purpose in NEED_CONSENT:  # (no history grants survey consent)
                assert m.purpose != Purpose.SURVEYS and granted[m.purpose], m.key
            assert suppressed is None or (suppressed in MARKETING_ONLY
                                          and m.purpose not in CAPPED), m.key

    for i, (op, a, b) in enumerate(ops):
        if op == "consent":
            consent_set(actor=personas.manager, customer=customer, channel="email",
                        purpose=a, granted=b, source="property")
            granted[a] = b
        elif op == "suppress":
            if b:
                Suppression.objects.update_or_create(channel="email", address=address,
                                                     defaults={"reason": a})
                suppressed = a
            else:
                Suppression.objects.filter(channel="email", address=address).delete()
                suppressed = None
        elif op == "queue":
            queue_messages([Draft(key=f"p{n}:{i}", customer_id=customer.pk, channel="email",
                                  purpose=a, origin="staff", subject="s", body="b")])
        else:
            clock[0] += dt.timedelta(minutes=a)
        drain_and_check()
    # the end: twelve hours later every held message has had its window end
    clock[0] += dt.timedelta(hours=12)
    drain_and_check()

    sent = list(mine.filter(status__in=OUT).order_by("sent_at"))
    capped = [m.sent_at for m in sent if m.purpose in CAPPED]
    for t in capped:
        window = [x for x in capped if t - dt.timedelta(days=7) < x <= t]
        assert len(window) <= 2
    # nothing is left queued or held, and nothing was dropped without a reason
    assert not mine.filter(status__in=[MessageStatus.QUEUED, MessageStatus.HELD]).exists()
    assert all(m.reason for m in mine.filter(status=MessageStatus.NOT_SENT))
    for m in sent:  # a held message never goes out before its quiet hours end
        assert m.sent_at >= m.due_at - dt.timedelta(seconds=1), m.key


# --- the cap under concurrent workers ----------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_four_workers_never_exceed_the_cap(personas):
    if connection.vendor == "sqlite" and ":memory:" in str(connection.settings_dict["NAME"]):
        pytest.skip("worker threads need a database file")
    ChannelSetup.objects.create(channel="email", provider="log", quiet_start="00:00",
                                quiet_end="00:00", rate_per_second=100000)
    ChannelSetup.objects.create(channel="sms", provider="log", quiet_start="00:00",
                                quiet_end="00:00", rate_per_second=100000)
    Policy.objects.create(cap_messages=2, cap_days=7)
    people = []
    for i in range(12):
        c = make_customer(personas.manager, full_name=f"并发{i}",
                          emails=[f"k{i}@example.com"], phones=[f"1390000{i:04d}"])
        for channel in ("email", "sms"):
            consent_set(actor=personas.manager, customer=c, channel=channel,
                        purpose="marketing", granted=True, source="test")
        people.append(c)
    queue_messages([Draft(key=f"c:{c.pk}:{j}", customer_id=c.pk,
                          channel="email" if j % 2 else "sms", purpose="marketing",
                          origin="staff", subject="s", body="b")
                    for c in people for j in range(6)])
    failures: list[BaseException] = []

    def worker() -> None:
        try:
            for _round in range(50):
                if not work_drain(["engagement.send"], limit=5):
                    break
        except BaseException as exc:
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    work_drain(["engagement.send"])
    assert not failures, failures
    for c in people:
        mine = Message.objects.filter(customer=c)
        assert mine.filter(status__in=OUT).count() == 2
        assert mine.filter(status=MessageStatus.NOT_SENT, reason="frequency_cap").count() == 4
