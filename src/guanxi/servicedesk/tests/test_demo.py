"""The demo's service desk loads once, and its escalation automation acts on a breach."""

from __future__ import annotations

import datetime as dt

import pytest

from guanxi.automation.triggers import read_events
from guanxi.core.work import work_drain
from guanxi.servicedesk import clocks, kb
from guanxi.servicedesk.demo import demo_servicedesk
from guanxi.servicedesk.models import Alert, SlaClock, Ticket
from guanxi.testing import make_customer
from guanxi.timeline.cursors import cursor_open


@pytest.mark.django_db(transaction=True)  # the event consumer reads what has committed
def test_the_demo_desk_loads_once_and_escalates_a_breach(personas):
    from guanxi.automation.triggers import CONSUMER

    for i in range(5):
        make_customer(personas.admin, full_name=f"客户{i}", emails=[f"c{i}@example.com"])
    cursor_open(CONSUMER)
    made = demo_servicedesk(actor=personas.admin)
    assert made == {"articles": 12, "tickets": 5, "automations": 1}
    assert demo_servicedesk(actor=personas.admin) == {"articles": 0, "tickets": 0,
                                                      "automations": 0}
    assert kb.ask("怎么退货", "zh-hans")["answer"].startswith("收到商品 7 天内")
    assert kb.ask("How do I track my order", "en")["article_id"] is not None
    low = Ticket.objects.get(subject="投诉：客服态度差")
    assert low.status == "open" and low.is_complaint  # the low CSAT score reopened it
    new = Ticket.objects.get(subject="订单还没发货")
    assert new.priority == "high"  # "请尽快处理": the keyword rules
    clock = SlaClock.objects.get(ticket=new, metric="first_response")
    # a breach in working hours (the policy counts business hours; the scan runs then)
    at = clock.due_at + dt.timedelta(minutes=1)
    while not clocks.calendar().is_working(at):
        at += dt.timedelta(minutes=30)
    assert clocks.scan(at)["breached"] >= 1
    read_events()
    work_drain(["automation.step"])
    new.refresh_from_db()
    assert new.priority == "urgent"  # one step up
    assert Alert.objects.filter(ticket=new).exists()
