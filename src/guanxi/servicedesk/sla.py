"""Business-time arithmetic for service levels: the working hours of a business, in its
time zone, on its calendar — a pure module (no database) that other code can call.

    from datetime import date, timedelta
    from guanxi.servicedesk.sla import BusinessCalendar

    cal = BusinessCalendar(hours={0: [("09:00", "12:00"), ("13:00", "18:00")], ...},
                           tz="Asia/Shanghai", region="CN", closures=[date(2026, 6, 1)])
    cal.add(start, timedelta(hours=24))   # aware datetimes in, aware datetime out
    cal.business_time_between(a, b)       # -> timedelta of working time

Rules:
- `hours` maps a weekday (0 = Monday … 6 = Sunday) to its working intervals, "HH:MM"
  strings or `datetime.time`s, start before end, within one day ("24:00" may end a day);
  a weekday not given is a day off. Overlapping or touching intervals are joined.
- `region="CN"` (any country code of the `holidays` library): statutory holidays are days
  off, and the make-up workdays (调休, a Saturday or Sunday declared a working day) take
  **Monday's** hours. `region=None`: the weekdays only.
- `closures`: the business's own days off (dates in the calendar's time zone).
- `add(start, d)` is the earliest moment `t ≥ start` with `business_time_between(start, t)
  == d`: a deadline of 8 working hours from Friday 17:00 on a 09:00–18:00 calendar is
  Monday 16:00; a deadline ending exactly at closing time is that closing time, not the
  next opening. `d` must not be negative; `add(start, 0)` is `start`.
- `business_time_between(a, b)` counts the working time in [a, b]; negative when b < a.
- Results are in the calendar's time zone. On a daylight-saving change the local working
  hours are kept (an interval that a clock change shortens is shorter that day).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils.translation import gettext as _

SEARCH_DAYS = 3 * 366  # a deadline further than this many calendar days away is an error


class CalendarError(ValueError):
    """A calendar that cannot be used: `field` names the setting, `reason` says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def _time(value: Any, field: str, *, end: bool = False) -> dt.time | None:
    if isinstance(value, dt.time):
        return value
    text = str(value).strip()
    if end and text == "24:00":
        return None
    try:
        return dt.time.fromisoformat(text)
    except ValueError:
        raise CalendarError(field, _("Not a time of day (HH:MM): “%(value)s”")
                            % {"value": text}) from None


def _seconds(t: dt.time | None) -> int:
    if t is None:
        return 86400
    return t.hour * 3600 + t.minute * 60 + t.second


@cache
def _country(region: str, year: int) -> Any:
    import holidays

    return holidays.country_holidays(region, years=year)


class BusinessCalendar:
    def __init__(self, hours: Mapping[int, Sequence[tuple[Any, Any]]], tz: str = "UTC",
                 region: str | None = None, closures: Iterable[dt.date] = ()) -> None:
        try:
            self.tz = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise CalendarError("tz", _("Unknown time zone “%(tz)s”") % {"tz": tz}) from None
        self.region = region or None
        if self.region:
            import holidays

            if self.region not in holidays.list_supported_countries():
                raise CalendarError("region", _("No holiday calendar for “%(region)s”")
                                    % {"region": self.region})
        self.closures = frozenset(closures)
        self.hours: dict[int, list[tuple[int, int]]] = {}
        for day, intervals in hours.items():
            if not isinstance(day, int) or not 0 <= day <= 6:
                raise CalendarError("hours", _("Weekdays are 0 (Monday) to 6 (Sunday), not "
                                               "“%(day)s”") % {"day": day})
            spans = []
            for i, (start, end) in enumerate(intervals):
                where = f"hours.{day}.{i}"
                a, b = _seconds(_time(start, where)), _seconds(_time(end, where, end=True))
                if a >= b:
                    raise CalendarError(where, _("The start must be before the end"))
                spans.append((a, b))
            self.hours[day] = _joined(spans)
        if not any(self.hours.values()):
            raise CalendarError("hours", _("Give at least one working interval"))

    # --- the calendar ---------------------------------------------------------------

    def spans(self, day: dt.date) -> list[tuple[int, int]]:
        """The working intervals of a local date, in seconds after its midnight."""
        if day in self.closures:
            return []
        weekday = day.weekday()
        if self.region:
            country = _country(self.region, day.year)
            if day in country and not country.is_working_day(day):
                return []  # a statutory holiday
            if weekday >= 5 and country.is_working_day(day):
                return self.hours.get(0, [])  # a make-up workday (调休): Monday's hours
        return self.hours.get(weekday, [])

    def _moment(self, day: dt.date, seconds: int) -> dt.datetime:
        if seconds >= 86400:
            return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), self.tz)
        h, rest = divmod(seconds, 3600)
        return dt.datetime.combine(day, dt.time(h, rest // 60, rest % 60), self.tz)

    def _windows(self, start: dt.datetime) -> Iterable[tuple[dt.datetime, dt.datetime]]:
        """The working windows from `start` on (the first clipped to it), in order."""
        local = start.astimezone(self.tz)
        day = local.date()
        for _n in range(SEARCH_DAYS):
            for a, b in self.spans(day):
                lo, hi = self._moment(day, a), self._moment(day, b)
                if hi <= local:
                    continue
                yield max(lo, local), hi
            day += dt.timedelta(days=1)
        raise CalendarError("hours", _("No working time in the next %(days)s days")
                            % {"days": SEARCH_DAYS})

    # --- arithmetic -----------------------------------------------------------------

    def add(self, start: dt.datetime, delta: dt.timedelta) -> dt.datetime:
        """The moment `delta` of working time after `start`."""
        _aware(start, "start")
        if delta < dt.timedelta(0):
            raise CalendarError("delta", _("The working time to add must not be negative"))
        if not delta:
            return start.astimezone(self.tz)
        left = delta
        for lo, hi in self._windows(start):
            span = hi - lo
            if left <= span:
                return (lo + left).astimezone(self.tz)
            left -= span
        raise AssertionError("unreachable")  # _windows raises when it runs out

    def business_time_between(self, a: dt.datetime, b: dt.datetime) -> dt.timedelta:
        """The working time between two moments (negative when b is before a)."""
        _aware(a, "a")
        _aware(b, "b")
        if b < a:
            return -self.business_time_between(b, a)
        total = dt.timedelta(0)
        local_b = b.astimezone(self.tz)
        day = a.astimezone(self.tz).date()
        local_a = a.astimezone(self.tz)
        while day <= local_b.date():
            for x, y in self.spans(day):
                lo = max(self._moment(day, x), local_a)
                hi = min(self._moment(day, y), local_b)
                if hi > lo:
                    total += hi - lo
            day += dt.timedelta(days=1)
        return total

    def resume(self, due: dt.datetime, paused: dt.datetime, resumed: dt.datetime
               ) -> dt.datetime:
        """A deadline after a pause: the working time left when the clock was paused,
        counted again from the moment it resumed."""
        if paused >= due:
            return due  # paused after the deadline passed: it stays missed
        return self.add(max(resumed, paused), self.business_time_between(paused, due))

    def due_with_pauses(self, start: dt.datetime, delta: dt.timedelta,
                        pauses: Iterable[tuple[dt.datetime, dt.datetime]]) -> dt.datetime:
        """The deadline of `delta` working time from `start` when the clock stops during
        each (paused, resumed) interval (pauses that start after the deadline change
        nothing)."""
        due = self.add(start, delta)
        for paused, resumed in sorted(pauses):
            if paused >= due:
                break
            due = self.resume(due, max(paused, start), resumed)
        return due

    def is_working(self, moment: dt.datetime) -> bool:
        """Whether `moment` falls inside working hours."""
        _aware(moment, "moment")
        local = moment.astimezone(self.tz)
        return any(self._moment(local.date(), a) <= local < self._moment(local.date(), b)
                   for a, b in self.spans(local.date()))


def _aware(value: dt.datetime, field: str) -> None:
    if not isinstance(value, dt.datetime) or value.tzinfo is None \
            or value.utcoffset() is None:
        raise CalendarError(field, _("Give a date and time with its time zone"))


def _joined(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out
