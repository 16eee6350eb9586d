"""Birthday greetings through the "send a message" step: each customer greeted on the
solar date their birthday falls on that year — the lunar date for those who keep it,
including births in a leap month and on the 30th of a month that has only 29 days in
the greeting year. Known dates checked against the printed almanac (lunar-python's
tables agree with borax's for 1901–2099 except two months; see automation's tests)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from guanxi.automation.services import automation_publish, automation_save
from guanxi.automation.triggers import scan_dates
from guanxi.core.work import work_drain
from guanxi.customers.services import consent_set
from guanxi.engagement.models import ChannelSetup, Message, MessageStatus
from guanxi.engagement.services import TextInput, template_save
from guanxi.testing import make_customer

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")

# (name, birth date, lunar?) and the solar days of their greeting in 2026
PEOPLE = {
    # lunar 2020 leap 4/1: greeted on the ordinary 4/1 (2026-05-17), not in a leap month
    "闰月": (dt.date(2020, 5, 23), True, dt.date(2026, 5, 17)),
    # lunar 1990 2/30; lunar 2026 month 2 has 29 days: greeted on 2/29 (2026-04-16)
    "三十": (dt.date(1990, 3, 26), True, dt.date(2026, 4, 16)),
    # lunar 2000 1/30; lunar 2026 month 1 has 30 days: greeted on 1/30 (2026-03-18)
    "正月三十": (dt.date(2000, 3, 5), True, dt.date(2026, 3, 18)),
    # lunar 1990 1/14: 2026-03-02 (the eve of 元宵)
    "农历": (dt.date(1990, 2, 9), True, dt.date(2026, 3, 2)),
    # the same birth date kept by the solar calendar
    "阳历": (dt.date(1990, 2, 9), False, dt.date(2026, 2, 9)),
}
DAYS = sorted({when for _born, _lunar, when in PEOPLE.values()}
              | {dt.date(2026, 4, 15), dt.date(2026, 4, 17), dt.date(2026, 6, 14)})


def test_lunar_birthdays_are_greeted_on_the_right_solar_day(personas, monkeypatch):
    m = personas.manager
    ChannelSetup.objects.create(channel="sms", provider="log", rate_per_second=1000,
                                config={"sign": "龙井茶庄"})  # default quiet 21:00–08:00
    template = template_save(actor=m, name="生日祝福", channel="sms", purpose="marketing",
                             texts=[TextInput("zh-hans", "{{ customer.salutation }}，生日快乐！")])
    automation = automation_save(
        actor=m, name="生日短信", trigger="automation.date", reentry="always",
        trigger_config={"date": "birthday", "time": "09:00"},
        steps=[{"id": "greet", "type": "action", "action": "engagement.send_message",
                "config": {"template": str(template.pk)}}])
    automation_publish(actor=m, automation=automation)
    people = {}
    for i, (name, (born, lunar, _when)) in enumerate(PEOPLE.items()):
        c = make_customer(m, full_name=name, birthday=born, lunar_birthday=lunar,
                          phones=[f"1390000{i:04d}"])
        consent_set(actor=m, customer=c, channel="sms", purpose="marketing", granted=True,
                    source="test")
        people[c.pk] = name

    clock = [timezone.now()]
    monkeypatch.setattr(timezone, "now", lambda: clock[0])
    greeted: dict[str, list[dt.date]] = {name: [] for name in PEOPLE}
    for day in DAYS:
        clock[0] = dt.datetime.combine(day, dt.time(0, 5), SHANGHAI)  # the night's scan
        scan_dates(day)
        clock[0] = dt.datetime.combine(day, dt.time(9, 0, 30), SHANGHAI)
        work_drain(["automation.step"])
        work_drain(["engagement.send"])
        for message in Message.objects.filter(status=MessageStatus.SENT,
                                              sent_at__date=day).exclude(
                                                  customer_id=None):
            sent = message.sent_at.astimezone(SHANGHAI)
            assert sent.date() == day and sent.time() >= dt.time(9), message.sent_at
            greeted[people[message.customer_id]].append(day)
    assert greeted == {name: [when] for name, (_b, _l, when) in PEOPLE.items()}
    bodies = set(Message.objects.values_list("body", flat=True))
    assert bodies == {f"【龙井茶庄】{name}，生日快乐！ 回T退订" for name in PEOPLE}
