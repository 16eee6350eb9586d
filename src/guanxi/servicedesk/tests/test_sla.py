"""The business calendar: known deadlines on the Chinese calendar (holidays, 调休), and
properties against a minute-by-minute oracle that reads the `holidays` library itself."""

from __future__ import annotations

import datetime as dt
import functools
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guanxi.servicedesk.sla import BusinessCalendar, CalendarError
from guanxi.servicedesk.tests import sla_oracle

SH = ZoneInfo("Asia/Shanghai")
WEEK = {d: [("09:00", "12:00"), ("13:00", "18:00")] for d in range(5)}
H = dt.timedelta(hours=1)


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SH)


def test_the_examples_of_the_docs():
    cal = BusinessCalendar(hours=WEEK, tz="Asia/Shanghai")
    # Friday 17:00 + 8 working hours: 1 h on Friday, 7 h on Monday (lunch excluded)
    assert cal.add(at(2026, 3, 6, 17), 8 * H) == at(2026, 3, 9, 17)
    assert cal.add(at(2026, 3, 9, 11), 2 * H) == at(2026, 3, 9, 14)  # over lunch
    assert cal.add(at(2026, 3, 9, 17), H) == at(2026, 3, 9, 18)  # exactly at closing
    assert cal.add(at(2026, 3, 7, 3), H) == at(2026, 3, 9, 10)  # from a Saturday night
    assert cal.add(at(2026, 3, 9, 12, 30), dt.timedelta(0)) == at(2026, 3, 9, 12, 30)
    assert cal.business_time_between(at(2026, 3, 6, 17), at(2026, 3, 9, 17)) == 8 * H
    assert cal.business_time_between(at(2026, 3, 9, 17), at(2026, 3, 6, 17)) == -8 * H
    # aware datetimes of any zone in, the calendar's zone out
    utc = dt.datetime(2026, 3, 6, 9, tzinfo=dt.UTC)  # 17:00 in Shanghai
    assert cal.add(utc, 8 * H) == at(2026, 3, 9, 17)
    assert cal.add(utc, 8 * H).tzinfo == SH


def test_statutory_holidays_and_make_up_workdays_in_china():
    cal = BusinessCalendar(hours=WEEK, tz="Asia/Shanghai", region="CN")
    # Spring Festival 2026: Saturday 14 February is a make-up workday (调休) with Monday's
    # hours; 15–23 February are off; work resumes on Tuesday the 24th
    assert cal.add(at(2026, 2, 13, 17), 2 * H) == at(2026, 2, 14, 10)
    assert cal.add(at(2026, 2, 14, 17, 30), H) == at(2026, 2, 24, 9, 30)
    # 24 h of first-response time from New Year's Eve afternoon
    assert cal.add(at(2026, 2, 16, 15), 24 * H) == at(2026, 2, 26, 18)
    assert cal.business_time_between(at(2026, 2, 13), at(2026, 2, 25)) == 24 * H
    assert cal.is_working(at(2026, 2, 28, 10))  # the second make-up Saturday
    assert not cal.is_working(at(2026, 2, 20, 10))  # a Friday off (substituted)


def test_closures_and_a_24_hour_day():
    cal = BusinessCalendar(hours={0: [("00:00", "24:00")], 1: [("08:00", "20:00")]},
                           tz="Europe/Berlin", closures=[dt.date(2026, 6, 1)])
    berlin = ZoneInfo("Europe/Berlin")
    # Monday 1 June is closed: Tuesday 08:00 + 12 h is Tuesday 20:00
    assert cal.add(dt.datetime(2026, 5, 31, 23, tzinfo=berlin), 12 * H) == \
        dt.datetime(2026, 6, 2, 20, tzinfo=berlin)
    assert cal.add(dt.datetime(2026, 6, 8, 22, tzinfo=berlin), 2 * H) == \
        dt.datetime(2026, 6, 9, 0, tzinfo=berlin)


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"hours": {7: [("09:00", "18:00")]}}, "hours"),
    ({"hours": {0: [("18:00", "09:00")]}}, "hours.0.0"),
    ({"hours": {0: [("9h", "18:00")]}}, "hours.0.0"),
    ({"hours": {0: []}}, "hours"),
    ({"hours": WEEK, "tz": "Mars/Olympus"}, "tz"),
    ({"hours": WEEK, "region": "XX"}, "region"),
])
def test_bad_calendars_say_which_setting_is_wrong(kwargs, field):
    with pytest.raises(CalendarError) as caught:
        BusinessCalendar(**kwargs)
    assert caught.value.field == field


def test_naive_datetimes_and_negative_durations_are_refused():
    cal = BusinessCalendar(hours=WEEK, tz="Asia/Shanghai")
    with pytest.raises(CalendarError):
        cal.add(dt.datetime(2026, 3, 9, 10), H)
    with pytest.raises(CalendarError):
        cal.add(at(2026, 3, 9, 10), -H)


# --- properties ----------------------------------------------------------------------

@functools.cache
def oracle_hours(day: dt.date) -> int | None:
    """Whose hours a day has (None: a day off), straight from the holidays library."""
    cn = holidays.country_holidays("CN", years=day.year)
    if day in cn and not cn.is_working_day(day):
        return None
    weekday = 0 if (day.weekday() >= 5 and cn.is_working_day(day)) else day.weekday()
    return weekday if weekday in WEEK else None


def oracle_working(minute: dt.datetime) -> bool:
    """Is this minute working time? By the rules, minute by minute."""
    t = minute.time()
    return oracle_hours(minute.date()) is not None and (
        dt.time(9) <= t < dt.time(12) or dt.time(13) <= t < dt.time(18))


CAL = BusinessCalendar(hours=WEEK, tz="Asia/Shanghai", region="CN")
MOMENTS = st.datetimes(min_value=dt.datetime(2025, 12, 20), max_value=dt.datetime(2027, 2, 1)
                       ).map(lambda d: d.replace(second=0, microsecond=0, tzinfo=SH))


@settings(max_examples=1000, deadline=None)
@given(start=MOMENTS, span=st.integers(0, 3 * 24 * 60))
def test_working_minutes_agree_with_the_oracle(start, span):
    end = start + dt.timedelta(minutes=span)
    minutes = sum(oracle_working(start + dt.timedelta(minutes=i)) for i in range(span))
    assert CAL.business_time_between(start, end) == dt.timedelta(minutes=minutes)


@settings(max_examples=500, deadline=None)
@given(start=MOMENTS, minutes=st.integers(0, 200 * 60), more=st.integers(0, 50 * 60))
def test_add_and_between_are_inverse_and_monotonic(start, minutes, more):
    d = dt.timedelta(minutes=minutes)
    due = CAL.add(start, d)
    assert due >= start
    assert CAL.business_time_between(start, due) == d
    later = CAL.add(start, d + dt.timedelta(minutes=more))
    assert later >= due
    # the earliest such moment: a minute earlier there is less working time behind
    if minutes:
        assert CAL.business_time_between(start, due - dt.timedelta(minutes=1)) < d
        assert oracle_working(due - dt.timedelta(minutes=1))
    # between is additive
    assert CAL.business_time_between(start, later) == \
        CAL.business_time_between(start, due) + CAL.business_time_between(due, later)


@settings(max_examples=400, deadline=None)
@given(case=sla_oracle.cases())
def test_deadlines_with_pauses_agree_with_the_brute_force_calculator(case):
    """(make bench runs the same comparison over 10,000 cases.)"""
    start, target, pauses = case
    got = CAL.due_with_pauses(start, dt.timedelta(minutes=target), pauses)
    assert got == sla_oracle.due(start, target, pauses), (start, target, pauses)
