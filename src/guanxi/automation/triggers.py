"""Turning triggers into entries: timeline events (a durable cursor, so each event is
seen once), the daily date scan (birthdays solar and lunar, first-purchase anniversaries,
festivals, statutory holidays), schedules, and segment joins and leaves.

`tick()` runs in every worker's watchdog loop (every second): it reads new events and
queues the day's date scan and due schedules as durable work items keyed by their day
or time, so a scan runs once per day however many workers tick."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from django.db.models import Min
from django.utils import timezone

from guanxi.analytics.models import SegmentMembership
from guanxi.analytics.segments import compile_rules
from guanxi.automation.calendar import (
    birth_dates_with_lunar,
    festival_date,
    is_workday,
    lunar_birthdays_on,
    solar_birthdays_on,
)
from guanxi.automation.datefields import customers_on
from guanxi.automation.engine import business_tz, enrol_many, resume_on_events
from guanxi.automation.models import (
    Automation,
    AutomationStatus,
    AutomationVersion,
    TriggerState,
)
from guanxi.core.work import work_enqueue
from guanxi.customers.models import Customer, Order, OrderStatus
from guanxi.timeline.cursors import consume

CONSUMER = "automation.triggers"
SCAN_QUEUE = "automation.scan"
DATE = "automation.date"
SCHEDULE = "automation.schedule"


def _live(trigger: str) -> list[tuple[Automation, AutomationVersion]]:
    """The active automations of a trigger type, each with its live version (the
    version's trigger is what counts: a draft's change has not been published)."""
    found = Automation.objects.filter(status=AutomationStatus.ACTIVE, live__isnull=False,
                                      live__trigger=trigger).select_related("live")
    return [(a, a.live) for a in found if a.live is not None]


# --- timeline events --------------------------------------------------------------------

def _lookup(data: Mapping[str, Any], path: str) -> Any:
    value: Any = data
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def event_matches(data: Mapping[str, Any], conditions: Sequence[Mapping[str, Any]]) -> bool:
    """Whether an event's data meets every condition (a missing field meets none)."""
    for c in conditions or ():
        value, op, want = _lookup(data or {}, c["field"]), c["operator"], c["value"]
        if op in ("gte", "lte", "gt", "lt"):
            got = _number(value)
            if got is None:
                return False
            ok = {"gte": got >= want, "lte": got <= want, "gt": got > want,
                  "lt": got < want}[op]
        elif op == "equals":
            ok = value == want or (value is not None and str(value) == str(want))
        elif op == "not_equals":
            ok = not (value == want or (value is not None and str(value) == str(want)))
        elif op == "in":
            ok = value in want or str(value) in {str(w) for w in want}
        else:  # contains
            ok = value is not None and str(want) in (value if isinstance(value, list)
                                                     else str(value))
        if not ok:
            return False
    return True


def on_events(events: Sequence[Any]) -> None:
    """The consumer's handler: enter event-triggered automations, wake runs waiting for
    these events. Runs in the transaction that moves the cursor."""
    resume_on_events(events)
    by_kind: dict[str, list[AutomationVersion]] = defaultdict(list)
    for _automation, live in _live("timeline.event"):
        by_kind[live.trigger_config.get("kind", "")].append(live)
    kinds = {e.kind for e in events}
    for kind, versions in by_kind.items():
        if kind not in kinds:
            continue
        for version in versions:
            config = version.trigger_config
            hits = [e for e in events if e.kind == config.get("kind")
                    and event_matches(e.data, config.get("conditions") or [])]
            for event in hits:  # one entry per event: its id is remembered on the run
                enrol_many(version, [event.customer_id], trigger_key=f"event:{event.pk}")


def read_events(limit_batches: int = 20) -> int:
    read = 0
    for _batch in range(limit_batches):
        n = consume(CONSUMER, on_events)
        read += n
        if n == 0:
            break
    return read


# --- dates ------------------------------------------------------------------------------

def customers_for_date(config: Mapping[str, Any], day: dt.date) -> list[int] | None:
    """The customers a date trigger picks on `day` (None: everyone, for festivals and
    holidays, whom the entry conditions narrow)."""
    offset = int(config.get("offset_days") or 0)
    target = day - dt.timedelta(days=offset)  # "3 days before the birthday": offset -3
    which = config.get("date")
    if which == "birthday":
        solar = [dt.date(y, m, d) for m, d in solar_birthdays_on(target)
                 for y in range(1900, target.year + 1) if _valid(y, m, d)]
        lunar = [b for m, d in lunar_birthdays_on(target)
                 for b in birth_dates_with_lunar(m, d) if b <= target]
        ids = list(Customer.objects.filter(erased_at__isnull=True, lunar_birthday=False,
                                           birthday__in=solar).values_list("pk", flat=True))
        ids += Customer.objects.filter(erased_at__isnull=True, lunar_birthday=True,
                                       birthday__in=lunar).values_list("pk", flat=True)
        return ids
    if which == "first_purchase":
        firsts = (Order.objects.filter(status=OrderStatus.PAID).values("customer_id")
                  .annotate(first=Min("placed_at")))
        tz = business_tz()
        return [row["customer_id"] for row in firsts.iterator(chunk_size=5000)
                if _anniversary(row["first"].astimezone(tz).date(), target)]
    if which == "field":  # N days before/after a date field (the exact date)
        return customers_on(str(config.get("field")), target)
    if which == "festival":
        code = str(config.get("festival"))
        return None if festival_date(code, target.year) == target else []
    if which == "holiday":  # the first day of a statutory holiday
        return None if _holiday_starts(target) else []
    return []


def _valid(y: int, m: int, d: int) -> bool:
    try:
        dt.date(y, m, d)
    except ValueError:
        return False
    return True


def _anniversary(first: dt.date, day: dt.date) -> bool:
    if first.year >= day.year:
        return False
    return (first.month, first.day) == (day.month, day.day) or (
        (first.month, first.day) == (2, 29) and (day.month, day.day) == (2, 28)
        and not _valid(day.year, 2, 29))


def _holiday_starts(day: dt.date) -> bool:
    import holidays

    cn = holidays.country_holidays("CN", years=day.year)
    return day in cn and (day - dt.timedelta(days=1)) not in cn and not is_workday(day)


def _at(day: dt.date, time: str) -> dt.datetime:
    hour, minute = (int(x) for x in (time or "09:00").split(":"))
    return dt.datetime.combine(day, dt.time(hour, minute), business_tz())


def scan_dates(day: dt.date) -> int:
    """Enter every date-triggered automation's customers for `day`; their first step runs
    at the trigger's time of day (no greeting at midnight)."""
    entered = 0
    for _automation, version in _live(DATE):
        picked = customers_for_date(version.trigger_config, day)
        at = max(timezone.now(), _at(day, version.trigger_config.get("time", "09:00")))
        key = f"date:{day.isoformat()}"
        if picked is None:  # everyone who meets the entry conditions: asked of the database
            entered += enrol_many(version, everyone(version.conditions), at=at,
                                  trigger_key=key, check_conditions=False)
        else:
            entered += enrol_many(version, picked, at=at, trigger_key=key)
    return entered


def everyone(conditions: Mapping[str, Any]) -> list[int]:
    """The ids of every customer meeting a rule tree, in one query."""
    query = Customer.objects.filter(erased_at__isnull=True)
    if conditions:
        query = query.filter(compile_rules(conditions))
    return list(query.values_list("pk", flat=True).order_by("pk"))


# --- schedules --------------------------------------------------------------------------

def schedule_due(config: Mapping[str, Any], after: dt.datetime, now: dt.datetime
                 ) -> dt.datetime | None:
    """The latest time in (after, now] the schedule fires, if any."""
    tz = business_tz()
    local_now = now.astimezone(tz)
    for back in range(0, 32):
        day = local_now.date() - dt.timedelta(days=back)
        when = _at(day, config.get("time", "09:00"))
        if when <= after:
            return None
        if when > now:
            continue
        every = config.get("every", "day")
        if every == "week" and day.weekday() != int(config.get("weekday") or 0):
            continue
        if every == "month" and day.day != int(config.get("day") or 1):
            continue
        if config.get("workdays_only") and not is_workday(day):
            continue
        return when
    return None


def scan_schedule(automation_id: int, at: str) -> int:
    automation = Automation.objects.filter(pk=automation_id, status=AutomationStatus.ACTIVE,
                                           live__isnull=False).select_related("live").first()
    if automation is None or automation.live is None:
        return 0
    return enrol_many(automation.live, everyone(automation.live.conditions),
                      check_conditions=False, trigger_key=f"schedule:{at[:16]}")


# --- segments ---------------------------------------------------------------------------

def scan_segments() -> int:
    """Enter the automations triggered by joining or leaving a segment, for the
    memberships that changed since the last scan."""
    joined, left = _live("analytics.segment_joined"), _live("analytics.segment_left")
    if not joined and not left:
        return 0
    entered = 0
    state, _c = TriggerState.objects.get_or_create(name="segments")
    last_id, _sep, last_left = (state.value or "0|").partition("|")
    now = timezone.now()
    newest = SegmentMembership.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    for _automation, version in joined:
        seg = int(version.trigger_config["segment"])
        ids = SegmentMembership.objects.filter(segment_id=seg, pk__gt=int(last_id),
                                               pk__lte=newest).values_list("customer_id",
                                                                           flat=True)
        entered += enrol_many(version, list(ids))
    since = dt.datetime.fromisoformat(last_left) if last_left else now
    for _automation, version in left:
        seg = int(version.trigger_config["segment"])
        ids = SegmentMembership.objects.filter(segment_id=seg, left_at__gt=since,
                                               left_at__lte=now).values_list("customer_id",
                                                                             flat=True)
        entered += enrol_many(version, list(ids))
    state.value = f"{newest}|{now.isoformat()}"
    state.save(update_fields=["value", "updated_at"])
    return entered


# --- the tick and the scan queue --------------------------------------------------------

def _queue_scans(now: dt.datetime) -> None:
    today = now.astimezone(business_tz()).date()
    state, _c = TriggerState.objects.get_or_create(name="dates")
    if state.value != today.isoformat():
        work_enqueue(SCAN_QUEUE, {"what": "dates", "day": today.isoformat()},
                     key=f"automation:dates:{today.isoformat()}")
        state.value = today.isoformat()
        state.save(update_fields=["value", "updated_at"])
    for automation, version in _live(SCHEDULE):
        state, _c = TriggerState.objects.get_or_create(
            name=f"schedule:{automation.pk}", defaults={"value": version.published_at.isoformat()})
        after = dt.datetime.fromisoformat(state.value)
        when = schedule_due(version.trigger_config, after, now)
        if when is not None:
            work_enqueue(SCAN_QUEUE, {"what": "schedule", "automation": automation.pk,
                                      "at": when.isoformat()},
                         key=f"automation:schedule:{automation.pk}:{when.isoformat()}")
            state.value = when.isoformat()
            state.save(update_fields=["value", "updated_at"])


def scan_work(item: Any, ctx: Any) -> dict[str, Any]:
    """The `automation.scan` handler."""
    payload = item.payload
    if payload["what"] == "dates":
        return {"entered": scan_dates(dt.date.fromisoformat(payload["day"]))}
    return {"entered": scan_schedule(int(payload["automation"]), payload["at"])}


_last_slow = 0.0


def tick() -> int:
    """The watchdog check: new events every call; dates, schedules and segments every
    30 s."""
    import time

    global _last_slow
    read = read_events()
    if time.monotonic() - _last_slow >= 30:
        _last_slow = time.monotonic()
        _queue_scans(timezone.now())
        scan_segments()
    del read
    return 0
