"""Birthdays, including customers who celebrate on the lunar calendar."""

from __future__ import annotations

import datetime as dt

from lunardate import LunarDate


def lunar_month_day(birthday: dt.date) -> tuple[int, int, bool]:
    lunar = LunarDate.from_solar_date(birthday.year, birthday.month, birthday.day)
    return lunar.month, lunar.day, bool(lunar.is_leap_month)


def next_birthday(birthday: dt.date, *, lunar: bool, today: dt.date) -> dt.date:
    """The next date (today included) on which the customer celebrates."""
    if not lunar:
        for year in (today.year, today.year + 1):
            try:
                candidate = birthday.replace(year=year)
            except ValueError:  # 29 February in a common year: celebrate on 28 February
                candidate = dt.date(year, 2, 28)
            if candidate >= today:
                return candidate
    month, day, _leap = lunar_month_day(birthday)
    for year in (today.year - 1, today.year, today.year + 1):
        for d in (day, day - 1):  # a 30th in a 29-day month falls back a day
            try:
                candidate = LunarDate(year, month, d).to_solar_date()
                break
            except ValueError:
                continue
        else:
            continue
        if candidate >= today:
            return candidate
    raise ValueError("no lunar birthday found within two years")
