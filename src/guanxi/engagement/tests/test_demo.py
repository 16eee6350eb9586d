"""The demo's messaging loads once, and its automations really send: a new customer gets
the welcome email, a customer whose birthday is today the birthday SMS."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.utils import timezone

from guanxi.analytics.services import demo_segments
from guanxi.automation.triggers import CONSUMER, read_events, scan_dates
from guanxi.core.work import work_drain
from guanxi.customers.services import consent_set
from guanxi.engagement.demo import demo_engagement
from guanxi.engagement.models import Campaign, ChannelSetup, Message, MessageStatus
from guanxi.testing import make_customer
from guanxi.timeline.cursors import cursor_open


@pytest.mark.django_db(transaction=True)  # the event consumer reads what has committed
def test_the_demo_messaging_loads_once_and_sends(personas):
    admin = personas.admin
    demo_segments(actor=admin)
    made = demo_engagement(actor=admin)
    assert made == {"channels": 4, "templates": 8, "automations": 5, "campaigns": 1}
    assert demo_engagement(actor=admin) == {"channels": 0, "templates": 0, "automations": 0,
                                            "campaigns": 0}
    assert Campaign.objects.get().variants.count() == 2
    # no quiet hours in the test, whatever the hour the suite runs at
    ChannelSetup.objects.update(quiet_start="00:00", quiet_end="00:00")
    cursor_open(CONSUMER)
    # the birthday step runs at 09:00 local time on the day: before nine (from 16:00 UTC
    # for Shanghai) it would be waiting, so the scan is of yesterday's birthdays then
    local = timezone.localtime()
    today = local.date() if local.time() >= dt.time(9, 0) else local.date() - dt.timedelta(1)
    born = today.replace(year=1990) if (today.month, today.day) != (2, 29) \
        else dt.date(1992, 2, 29)
    new = make_customer(admin, full_name="王芳", family_name="王", given_name="芳",
                        gender="female", emails=["wangfang@example.com"],
                        phones=["13900139077"], birthday=born)
    for channel in ("email", "sms"):
        consent_set(actor=admin, customer=new, channel=channel, purpose="marketing",
                    granted=True, source="test")
    read_events()
    scan_dates(today)
    for _ in range(3):
        work_drain(["automation.step", "engagement.send"])
    sent = {m.channel: m for m in Message.objects.filter(customer=new,
                                                         status=MessageStatus.SENT)}
    assert sent["email"].subject == f"欢迎来到{settings.GUANXI_BUSINESS_NAME}"
    assert sent["email"].body.startswith("王女士，您好！")
    assert "王女士，生日快乐！" in sent["sms"].body and sent["sms"].body.endswith("回T退订")
