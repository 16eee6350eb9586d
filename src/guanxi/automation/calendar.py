"""The dates automations start on: solar and lunar birthdays, anniversaries and the
Chinese festivals, from lunar-python (the lunar calendar) and `holidays` (statutory
holidays and the make-up workdays, 调休).

Rules a business can look up (docs/automation.md):
- a solar birthday on 29 February is celebrated on 28 February in common years;
- a lunar birthday falls on the same lunar month and day; someone born in a leap month
  celebrates in the ordinary month of that number (a leap month recurs only every few
  years); a birthday on the 30th is celebrated on the 29th in years whose month has 29
  days (customers.birthdays.next_birthday, which this inverts);
- 除夕 (New Year's Eve) is the last day of the twelfth lunar month: 腊月廿九 in years
  whose twelfth month has no 30th."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from lunar_python import LunarMonth, Solar


@dataclass(frozen=True)
class Festival:
    code: str
    label: str | Promise
    month: int = 0       # lunar month and day; 0 for 除夕 and the solar ones
    day: int = 0
    solar: bool = False  # month/day are of the Gregorian calendar


FESTIVALS = (
    Festival("spring_festival", _("Spring Festival (春节)"), 1, 1),
    Festival("lantern", _("Lantern Festival (元宵)"), 1, 15),
    Festival("dragon_boat", _("Dragon Boat Festival (端午)"), 5, 5),
    Festival("qixi", _("Qixi (七夕)"), 7, 7),
    Festival("mid_autumn", _("Mid-Autumn Festival (中秋)"), 8, 15),
    Festival("double_ninth", _("Double Ninth Festival (重阳)"), 9, 9),
    Festival("new_years_eve", _("Chinese New Year's Eve (除夕)")),
    Festival("new_year", _("New Year's Day"), 1, 1, solar=True),
    Festival("womens_day", _("Women's Day"), 3, 8, solar=True),
    Festival("labour_day", _("Labour Day"), 5, 1, solar=True),
    Festival("national_day", _("National Day"), 10, 1, solar=True),
)
FESTIVAL_CODES = {f.code: f for f in FESTIVALS}


def _date(solar: Solar) -> dt.date:
    return dt.date(solar.getYear(), solar.getMonth(), solar.getDay())


def lunar_to_solar(year: int, month: int, day: int) -> dt.date | None:
    """The solar date of a lunar date in an ordinary month, None if the month is shorter."""
    days = LunarMonth.fromYm(year, month)
    if days is None or not 1 <= day <= days.getDayCount():
        return None
    return _date(Solar.fromJulianDay(days.getFirstJulianDay() + day - 1))


@cache
def festival_date(code: str, year: int) -> dt.date:
    """The date of a festival in a (Gregorian) year."""
    f = FESTIVAL_CODES[code]
    if f.solar:
        return dt.date(year, f.month, f.day)
    if code == "new_years_eve":
        return festival_date("spring_festival", year) - dt.timedelta(days=1)
    found = lunar_to_solar(year, f.month, f.day)
    assert found is not None  # the festivals' days exist in every month
    return found


def festivals_on(day: dt.date) -> list[str]:
    """The codes of the festivals falling on a day."""
    return [f.code for f in FESTIVALS if festival_date(f.code, day.year) == day]


def solar_birthdays_on(day: dt.date) -> list[tuple[int, int]]:
    """The (month, day) of the solar birthdays celebrated on a day: 29 February's on 28
    February of a common year."""
    out = [(day.month, day.day)]
    if (day.month, day.day) == (2, 28) and not _leap_year(day.year):
        out.append((2, 29))
    return out


def _leap_year(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def lunar_birthdays_on(day: dt.date) -> list[tuple[int, int]]:
    """The lunar (month, day) of the birthdays celebrated on a solar day, whatever the
    birth month was (ordinary or leap). Empty on a day of a leap month, which no one
    celebrates on (they celebrate in the ordinary month)."""
    lunar = Solar.fromYmd(day.year, day.month, day.day).getLunar()
    month, mday = lunar.getMonth(), lunar.getDay()
    if month < 0:
        return []
    out = [(month, mday)]
    month_days = LunarMonth.fromYm(lunar.getYear(), month)
    if mday == 29 and month_days is not None and month_days.getDayCount() == 29:
        out.append((month, 30))  # a 30th falls back to the 29th
    return out


@cache
def birth_dates_with_lunar(month: int, day: int, first: int = 1900,
                           last: int = 2100) -> tuple[dt.date, ...]:
    """Every solar date in [first, last] whose lunar month (ordinary or leap) and day
    are these: the birth dates of the customers who celebrate a lunar (month, day)."""
    out = []
    for year in range(first, last + 1):
        for m in (month, -month):
            lm = LunarMonth.fromYm(year, m)
            if lm is None or (m < 0 and lm.getMonth() != m) or day > lm.getDayCount():
                continue
            out.append(_date(Solar.fromJulianDay(lm.getFirstJulianDay() + day - 1)))
    return tuple(sorted(out))


@cache
def _cn_holidays(year: int) -> Any:
    import holidays

    return holidays.country_holidays("CN", years=year)


def is_workday(day: dt.date) -> bool:
    """A working day in mainland China: not a statutory holiday, and not a weekend unless
    it is a make-up workday (调休), by the `holidays` library's calendar."""
    return bool(_cn_holidays(day.year).is_working_day(day))


def business_tz() -> ZoneInfo:
    """The business time zone (GUANXI_TIME_ZONE): dates and times of day are read in it."""
    return ZoneInfo(settings.TIME_ZONE)
