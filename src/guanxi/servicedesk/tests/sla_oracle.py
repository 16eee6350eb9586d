"""A brute-force SLA calculator: every minute of 2025-12-20 .. 2027-02-01 in Shanghai
marked working or not straight from the `holidays` library's CN calendar (statutory
holidays off, 调休 weekend workdays on with Monday's hours), 09:00–12:00 and 13:00–18:00.
A deadline is found by counting working minutes one by one, skipping paused ones."""

from __future__ import annotations

import datetime as dt
import functools
from zoneinfo import ZoneInfo

import holidays
import numpy as np
from hypothesis import strategies as st

SH = ZoneInfo("Asia/Shanghai")
WEEK = {d: [("09:00", "12:00"), ("13:00", "18:00")] for d in range(5)}
FIRST = dt.datetime(2025, 12, 20, tzinfo=SH)
DAYS = 410


@functools.cache
def minutes() -> np.ndarray:
    """working[i]: is minute i after FIRST working time?"""
    out = np.zeros(DAYS * 1440, dtype=bool)
    years = holidays.country_holidays("CN", years=range(2025, 2028))
    for d in range(DAYS):
        day = FIRST.date() + dt.timedelta(days=d)
        off = day in years and not years.is_working_day(day)
        workday = day.weekday() < 5 or years.is_working_day(day)
        if off or not workday:
            continue
        base = d * 1440
        out[base + 9 * 60:base + 12 * 60] = True
        out[base + 13 * 60:base + 18 * 60] = True
    return out


def index(moment: dt.datetime) -> int:
    return int((moment - FIRST).total_seconds() // 60)


def due(start: dt.datetime, target_minutes: int,
        pauses: list[tuple[dt.datetime, dt.datetime]]) -> dt.datetime:
    """The end of the target-th working, unpaused minute from `start`."""
    work = minutes().copy()
    i0 = index(start)
    for a, b in pauses:
        work[max(i0, index(a)):index(b)] = False
    if target_minutes == 0:
        return start
    counted = np.cumsum(work[i0:])
    k = int(np.searchsorted(counted, target_minutes))
    return FIRST + dt.timedelta(minutes=i0 + k + 1)


MOMENTS = st.integers(0, (DAYS - 40) * 1440).map(
    lambda m: FIRST + dt.timedelta(minutes=m))


@st.composite
def cases(draw: st.DrawFn) -> tuple[dt.datetime, int, list[tuple[dt.datetime, dt.datetime]]]:
    """A start, a target (up to 5 working days) and up to 3 pauses after the start."""
    start = draw(MOMENTS)
    target = draw(st.integers(0, 5 * 8 * 60))
    pauses = []
    at = start
    for _ in range(draw(st.integers(0, 3))):
        at = at + dt.timedelta(minutes=draw(st.integers(0, 4 * 1440)))
        end = at + dt.timedelta(minutes=draw(st.integers(0, 3 * 1440)))
        pauses.append((at, end))
        at = end
    return start, target, pauses
