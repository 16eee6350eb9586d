import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from guanxi.automation.engine import business_tz
from guanxi.automation.models import Run
from guanxi.automation.services import automation_publish, automation_save
from guanxi.automation.triggers import (
    _queue_scans,
    customers_for_date,
    scan_dates,
    schedule_due,
)
from guanxi.core.models import WorkItem
from guanxi.testing import make_customer

pytestmark = pytest.mark.django_db

STEPS = [{"id": "a", "type": "action", "action": "customers.tag_add", "config": {"tag": "生日"}}]


def test_birthdays_solar_and_lunar_are_found_on_their_day(personas):
    m = personas.manager
    solar = make_customer(m, full_name="阳历", birthday=dt.date(1990, 12, 1))
    lunar = make_customer(m, full_name="农历", birthday=dt.date(1990, 2, 9), lunar_birthday=True)
    leap = make_customer(m, full_name="闰月", birthday=dt.date(2020, 5, 23), lunar_birthday=True)
    make_customer(m, full_name="别人", birthday=dt.date(1990, 2, 9))
    # 1990-02-09 is lunar 1/14: in 2027 lunar 1/14 is 2027-02-19
    assert customers_for_date({"date": "birthday"}, dt.date(2026, 12, 1)) == [solar.pk]
    assert customers_for_date({"date": "birthday"}, dt.date(2027, 2, 19)) == [lunar.pk]
    # born 2020-05-23, lunar leap 4/1: celebrates on the ordinary 4/1 (2026-05-17)
    assert customers_for_date({"date": "birthday"}, dt.date(2026, 5, 17)) == [leap.pk]
    # three days before: offset -3
    assert customers_for_date({"date": "birthday", "offset_days": -3},
                              dt.date(2026, 11, 28)) == [solar.pk]


def test_festivals_holidays_and_first_purchase(personas):
    m = personas.manager
    assert customers_for_date({"date": "festival", "festival": "mid_autumn"},
                              dt.date(2026, 9, 25)) is None  # everyone (the conditions narrow)
    assert customers_for_date({"date": "festival", "festival": "mid_autumn"},
                              dt.date(2026, 9, 24)) == []
    assert customers_for_date({"date": "holiday"}, dt.date(2025, 10, 1)) is None
    assert customers_for_date({"date": "holiday"}, dt.date(2025, 10, 2)) == []
    from guanxi.customers.services import OrderLineInput, order_create, product_upsert
    buyer = make_customer(m)
    product_upsert(actor=m, sku="T1", name="龙井", price=Decimal("100"))
    placed = dt.datetime(2024, 3, 5, 15, 0, tzinfo=business_tz())
    order_create(actor=m, customer=buyer, lines=[OrderLineInput(sku="T1", quantity=1)],
                 placed_at=placed)
    assert customers_for_date({"date": "first_purchase"}, dt.date(2026, 3, 5)) == [buyer.pk]
    assert customers_for_date({"date": "first_purchase"}, dt.date(2024, 3, 5)) == []


def test_the_daily_scan_enters_once_at_the_time_of_day(personas):
    m = personas.manager
    today = timezone.localdate()
    born = today.replace(year=1991) if not (today.month == 2 and today.day == 29) \
        else dt.date(1992, 2, 29)
    customer = make_customer(m, birthday=born)
    automation = automation_save(actor=m, name="生日祝福", trigger="automation.date",
                                 trigger_config={"date": "birthday", "time": "09:30"},
                                 steps=STEPS, reentry="always")
    automation_publish(actor=m, automation=automation)
    assert scan_dates(today) == 1
    assert scan_dates(today) == 0  # the same day scanned again enters no one twice
    run = Run.objects.get(customer=customer)
    local = run.next_at.astimezone(business_tz())
    assert local.time() == dt.time(9, 30) or run.next_at >= timezone.now() - dt.timedelta(
        minutes=1)


def test_the_tick_queues_one_scan_per_day(personas):
    now = timezone.now()
    _queue_scans(now)
    _queue_scans(now)
    assert WorkItem.objects.filter(queue="automation.scan").count() == 1


def test_schedule_fires_once_per_time():
    tz = business_tz()
    config = {"every": "week", "weekday": 0, "time": "09:00"}
    monday = dt.datetime(2026, 11, 30, 9, 0, tzinfo=tz)
    assert schedule_due(config, monday - dt.timedelta(days=1), monday + dt.timedelta(hours=1)
                        ) == monday
    assert schedule_due(config, monday, monday + dt.timedelta(hours=5)) is None
    daily = {"every": "day", "time": "09:00", "workdays_only": True}
    national_day = dt.datetime(2025, 10, 1, 10, 0, tzinfo=tz)
    assert schedule_due(daily, national_day - dt.timedelta(hours=12), national_day) is None


def test_days_before_or_after_a_date_field(personas):
    from guanxi.automation.datefields import customers_on, date_of
    from guanxi.automation.engine import _wait_until
    from guanxi.customers.services import OrderLineInput, order_create, product_upsert
    m = personas.manager
    contract = make_customer(m, full_name="合同", attributes={"contract_end": "2027-03-31"})
    make_customer(m, full_name="别人", attributes={"contract_end": "2027-04-01"})
    make_customer(m, full_name="无日期", attributes={"contract_end": "不详"})
    config = {"date": "field", "field": "attributes.contract_end", "offset_days": -30}
    assert customers_for_date(config, dt.date(2027, 3, 1)) == [contract.pk]  # 30 days before
    assert customers_for_date(config, dt.date(2027, 3, 31)) == []
    buyer = make_customer(m, full_name="买家")
    product_upsert(actor=m, sku="T1", name="龙井", price=Decimal("100"))
    for day in (5, 20):
        order_create(actor=m, customer=buyer, lines=[OrderLineInput(sku="T1", quantity=1)],
                     placed_at=dt.datetime(2026, 3, day, 23, 30, tzinfo=business_tz()))
    after7 = {"date": "field", "field": "first_purchase", "offset_days": 7}
    assert customers_for_date(after7, dt.date(2026, 3, 12)) == [buyer.pk]
    assert customers_on("last_purchase", dt.date(2026, 3, 20)) == [buyer.pk]
    assert customers_on("last_purchase", dt.date(2026, 3, 5)) == []
    assert date_of(buyer, "first_purchase") == dt.date(2026, 3, 5)  # business time zone
    assert date_of(contract, "attributes.contract_end") == dt.date(2027, 3, 31)
    assert date_of(buyer, "attributes.contract_end") is None
    # a wait until 30 days before the contract ends, at 10:00
    now = dt.datetime(2027, 1, 1, 12, 0, tzinfo=business_tz())
    step = {"until": "field", "field": "attributes.contract_end", "offset_days": -30,
            "time": "10:00"}
    assert _wait_until(step, contract, now) == dt.datetime(2027, 3, 1, 10, 0,
                                                           tzinfo=business_tz())
    assert _wait_until(step, buyer, now) == now  # no such date: goes on


def test_date_field_settings_are_checked(personas):
    from guanxi.automation.definition import definition_errors
    bad_step = [{"id": "w", "type": "wait", "until": "field", "field": "attributes.a b",
                 "offset_days": 500, "time": "10:00"}, *STEPS]
    errors = {e.field for e in definition_errors(
        trigger="automation.date", trigger_config={"date": "field", "field": "nonsense",
                                                   "time": "09:00"},
        conditions={}, steps=bad_step, goal={})}
    assert errors == {"trigger_config.field", "steps.0.field", "steps.0.offset_days"}
