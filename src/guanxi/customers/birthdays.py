"""Birthdays, including customers who celebrate on the lunar calendar."""

from __future__ import annotations

import datetime as dt

from lunar_python import LunarMonth, Solar


def lunar_month_day(birthday: dt.date) -> tuple[int, int, bool]:
    """The lunar month and day of a date, and whether that month is a leap month
    (lunar-python numbers a leap month negative)."""
    lunar = Solar.fromYmd(birthday.year, birthday.month, birthday.day).getLunar()
    return abs(lunar.getMonth()), lunar.getDay(), lunar.getMonth() < 0


def _lunar_to_solar(year: int, month: int, day: int) -> dt.date | None:
    """The solar date of a lunar date (ordinary month), None if the month is shorter."""
    days = LunarMonth.fromYm(year, month)
    if days is None or not 1 <= day <= days.getDayCount():
        return None
    solar = Solar.fromJulianDay(days.getFirstJulianDay() + day - 1)
    return dt.date(solar.getYear(), solar.getMonth(), solar.getDay())


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
    # Someone born in a leap month celebrates in the ordinary month of the same number.
    month, day, _leap = lunar_month_day(birthday)
    for year in (today.year - 1, today.year, today.year + 1):
        # a 30th in a 29-day month falls back a day
        found = _lunar_to_solar(year, month, day) or _lunar_to_solar(year, month, day - 1)
        if found is not None and found >= today:
            return found
    raise ValueError("no lunar birthday found within two years")
