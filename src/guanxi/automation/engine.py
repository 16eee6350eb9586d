"""The engine: customers enter an automation's live version (enrol_many), and each run
is advanced by durable work items (queue `automation.step`), one per scheduled wake-up.

The handler is atomic (core.work): a step's database effects — the action's writes, the
ActionDone row holding its idempotency key, the timeline event naming the automation,
the run's new position and the next wake-up — commit together with the work item's
completion or not at all. A worker killed half-way leaves nothing behind; the item is
claimed again when its lease runs out and the step runs once. An action whose effect
leaves the database (a webhook call) does so by enqueueing its own durable work in the
same transaction, keyed by the action's key, so it too happens once.

Wake-ups carry the run's `seq`: waiting for an event schedules a timeout; if the event
comes first the run is rescheduled with a higher seq and the timeout, when it fires,
finds a stale seq and does nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from guanxi.analytics.segments import compile_rules
from guanxi.automation.calendar import business_tz, is_workday
from guanxi.automation.datefields import date_of
from guanxi.automation.models import (
    FINISHED,
    ActionDone,
    AutomationVersion,
    Reentry,
    Run,
    RunStatus,
    StepLog,
)
from guanxi.core.automation import action_type
from guanxi.core.bulk import insert_objects
from guanxi.core.models import WorkItem
from guanxi.core.work import work_enqueue, work_enqueue_many
from guanxi.customers.birthdays import next_birthday
from guanxi.customers.models import Customer
from guanxi.timeline.services import event_append

QUEUE = "automation.step"
MAX_STEPS_PER_WAKE = 60  # steps only jump forward, so a run never loops; this is a guard
PAUSED_RECHECK = dt.timedelta(minutes=5)


def matches(customer_ids: Sequence[int], rules: Any) -> set[int]:
    """The customers among `customer_ids` for whom a rule tree holds ({} holds for all)."""
    query = Customer.objects.filter(pk__in=list(customer_ids), erased_at__isnull=True)
    if rules:
        query = query.filter(compile_rules(rules))
    return set(query.values_list("pk", flat=True))


# --- entering ---------------------------------------------------------------------------

def _allowed(version: AutomationVersion, ids: Sequence[int], now: dt.datetime
             ) -> dict[int, int]:
    """{customer: occurrence} for those of `ids` the re-entry policy lets in now."""
    rows = (Run.objects.filter(automation_id=version.automation_id, customer_id__in=ids,
                               test=False)
            .values("customer_id").annotate(n=Max("occurrence"), entered=Max("entered_at")))
    last: dict[int, tuple[int, dt.datetime]] = {r["customer_id"]: (r["n"], r["entered"])
                                                 for r in rows}
    busy = set(Run.objects.filter(automation_id=version.automation_id, customer_id__in=ids,
                                  test=False).exclude(status__in=FINISHED)
               .values_list("customer_id", flat=True))
    out: dict[int, int] = {}
    for cid in ids:
        prev = last.get(cid)
        if prev is None:
            out[cid] = 1
            continue
        recent = prev[1] > now - dt.timedelta(days=version.reentry_days)
        if cid in busy or version.reentry == Reentry.NEVER or (
                version.reentry == Reentry.AFTER and recent):
            continue
        out[cid] = prev[0] + 1
    return out


def enrol_many(version: AutomationVersion, customer_ids: Iterable[int], *,
               at: dt.datetime | None = None, trigger_key: str = "",
               check_conditions: bool = True, chunk: int = 2000) -> int:
    """Let the customers the entry conditions and the re-entry policy admit into a live
    version; their first step runs at `at` (default now). Returns how many entered. A
    customer entering twice at once (two triggers racing) enters once: the occurrence
    number is unique; and once per `trigger_key` (a scan or an event handled again
    after a crash enters no one a second time)."""
    now = timezone.now()
    first = version.steps[0]["id"]
    entered = 0
    ids = list(dict.fromkeys(customer_ids))
    for start in range(0, len(ids), chunk):
        part = ids[start:start + chunk]
        if check_conditions:
            admitted = matches(part, version.conditions)
            part = [c for c in part if c in admitted]
        if trigger_key:
            seen = set(Run.objects.filter(automation_id=version.automation_id,
                                          customer_id__in=part, trigger_key=trigger_key)
                       .values_list("customer_id", flat=True))
            part = [c for c in part if c not in seen]
        occurrences = _allowed(version, part, now)
        if not occurrences:
            continue
        with transaction.atomic():
            # insert_objects: ~20x less work per row than bulk_create (a date scan may
            # enter hundreds of thousands); a concurrent entry of the same customer and
            # occurrence is left out by the unique index, and only our rows are read back.
            insert_objects(Run, [
                {"automation_id": version.automation_id, "version_id": version.pk,
                 "customer_id": cid, "occurrence": n, "step": first, "seq": 1,
                 "entered_at": now, "next_at": at or now, "trigger_key": trigger_key,
                 "wait_kind": "", "error": ""}
                for cid, n in occurrences.items()], ignore_conflicts=True)
            runs = [(pk, cid) for pk, cid, n, when in Run.objects.filter(
                automation_id=version.automation_id, customer_id__in=list(occurrences),
                seq=1).values_list("pk", "customer_id", "occurrence", "entered_at")
                if occurrences.get(cid) == n and when == now]
            work_enqueue_many(QUEUE, [({"run": pk, "seq": 1}, f"automation:{pk}:1",
                                       at or now) for pk, _cid in runs])
            entered += len(runs)
    return entered


def _schedule(run: Run, at: dt.datetime, *, via: str = "") -> None:
    """Wake the run at `at` (its seq moves on: earlier wake-ups become stale)."""
    run.seq += 1
    run.next_at = at
    payload: dict[str, Any] = {"run": run.pk, "seq": run.seq}
    if via:
        payload["via"] = via
    work_enqueue(QUEUE, payload, key=f"automation:{run.pk}:{run.seq}", run_after=at)


def resume_on_events(events: Sequence[Any]) -> int:
    """Runs waiting for an event of these kinds, for these customers, go on (called by
    the trigger consumer in the transaction that moves its cursor)."""
    wanted = {(e.customer_id, e.kind) for e in events}
    if not wanted:
        return 0
    kinds = {k for _c, k in wanted}
    customers = {c for c, _k in wanted}
    waiting = Run.objects.select_for_update().filter(
        status=RunStatus.WAITING, wait_kind__in=kinds, customer_id__in=customers)
    resumed = 0
    for run in waiting:
        if (run.customer_id, run.wait_kind) in wanted:
            run.wait_kind = ""
            _schedule(run, timezone.now(), via="event")
            run.save(update_fields=["wait_kind", "seq", "next_at"])
            resumed += 1
    return resumed


# --- advancing --------------------------------------------------------------------------

def _wait_until(step: Mapping[str, Any], customer: Customer, now: dt.datetime) -> dt.datetime:
    tz = business_tz()
    until = step.get("until", "")
    if until == "":
        return now + dt.timedelta(days=step.get("days", 0), hours=step.get("hours", 0),
                                  minutes=step.get("minutes", 0))
    hour, minute = (int(x) for x in step["time"].split(":"))
    local = now.astimezone(tz)
    if until == "birthday":
        if customer.birthday is None:
            return now  # no birthday: nothing to wait for
        offset = dt.timedelta(days=step.get("offset_days", 0))
        day = next_birthday(customer.birthday, lunar=customer.lunar_birthday,
                            today=local.date() - offset) + offset
        return max(now, dt.datetime.combine(day, dt.time(hour, minute), tz))
    if until == "field":
        field_day = date_of(customer, step["field"])
        if field_day is None:
            return now  # no such date: nothing to wait for
        field_day += dt.timedelta(days=step.get("offset_days", 0))
        return max(now, dt.datetime.combine(field_day, dt.time(hour, minute), tz))
    weekdays = set(step.get("weekdays") or range(7))
    for ahead in range(0, 60):
        day = local.date() + dt.timedelta(days=ahead)
        when = dt.datetime.combine(day, dt.time(hour, minute), tz)
        if when < local or day.weekday() not in weekdays:
            continue
        if step.get("workday") and not is_workday(day):
            continue
        return when
    return now


def split_path(run_id: int, step_id: str, paths: Sequence[Mapping[str, Any]]) -> int | None:
    """Which path (index) a run takes at a random split, None for the holdout. Stable: a
    retried step takes the same path."""
    roll = int(hashlib.sha256(f"{run_id}:{step_id}".encode()).hexdigest()[:8], 16) % 100
    edge = 0
    for i, path in enumerate(paths):
        edge += int(path.get("percent", 0))
        if roll < edge:
            return i
    return None


def action_key(run: Run, step_id: str) -> str:
    return f"{run.version_id}:{run.customer_id}:{step_id}:{run.occurrence}"


class _Walk:
    """One wake-up of a run: steps run until a wait or the end."""

    def __init__(self, run: Run, version: AutomationVersion, customer: Customer, *,
                 dry: bool = False) -> None:
        self.run, self.version, self.customer, self.dry = run, version, customer, dry
        self.steps = {s["id"]: s for s in version.steps}
        self.order = [s["id"] for s in version.steps]
        self.trace: list[dict[str, Any]] = []

    def _next(self, step_id: str, target: str | None = None) -> str:
        if target:
            return target
        i = self.order.index(step_id) + 1
        return self.order[i] if i < len(self.order) else ""

    def _log(self, step: Mapping[str, Any], outcome: str, **detail: Any) -> None:
        self.trace.append({"step": step["id"], "type": step["type"], "outcome": outcome,
                           **detail})
        if not self.dry:
            StepLog.objects.create(run=self.run, automation_id=self.run.automation_id,
                                   step=step["id"], kind=step["type"], outcome=outcome,
                                   detail=detail)

    def _finish(self, status: str) -> None:
        self.run.status = status
        self.run.step = ""
        self.run.next_at = None
        self.run.finished_at = timezone.now()

    def walk(self, via: str = "") -> None:
        run, now = self.run, timezone.now()
        if run.status == RunStatus.WAITING:
            step = self.steps.get(run.step)
            run.status = RunStatus.ACTIVE
            if step is not None and step["type"] == "wait_event":
                # woken by the event (go on) or by the timeout (take the timeout path)
                run.wait_kind = ""
                came = via == "event"
                self._log(step, "event" if came else "timeout")
                run.step = self._next(step["id"], None if came else step.get("timeout"))
            elif step is not None and step["type"] == "wait":
                self._log(step, "waited")
                run.step = self._next(step["id"])
        for _guard in range(MAX_STEPS_PER_WAKE):
            if self.version.goal and not self.dry and matches([run.customer_id],
                                                              self.version.goal):
                self._finish(RunStatus.GOAL)
                return
            if run.step in ("", "exit"):
                self._finish(RunStatus.COMPLETED if run.step == "" else RunStatus.EXITED)
                return
            step = self.steps[run.step]
            kind = step["type"]
            if kind == "action":
                self._action(step)
                run.step = self._next(step["id"])
            elif kind == "wait":
                until = _wait_until(step, self.customer, now)
                if self.dry:
                    self._log(step, "would_wait", until=until.isoformat())
                    run.step = self._next(step["id"])
                    continue
                run.status = RunStatus.WAITING
                _schedule(run, until)
                return
            elif kind == "wait_event":
                if self.dry:
                    self._log(step, "would_wait_event", kind=step["kind"], days=step["days"])
                    run.step = self._next(step["id"], step.get("timeout"))
                    continue
                run.status = RunStatus.WAITING
                run.wait_kind = step["kind"]
                _schedule(run, now + dt.timedelta(days=step["days"]))
                return
            elif kind == "branch":
                yes = bool(matches([run.customer_id], step["rules"]))
                self._log(step, "yes" if yes else "no")
                run.step = self._next(step["id"], None if yes else step.get("else"))
            elif kind == "split":
                path = split_path(run.pk or 0, step["id"], step["paths"])
                if path is None:
                    self._log(step, "holdout")
                    self._finish(RunStatus.HOLDOUT)
                    return
                self._log(step, f"path_{path + 1}")
                run.step = self._next(step["id"], step["paths"][path].get("goto"))
            elif kind == "exit":
                self._log(step, "exit")
                self._finish(RunStatus.EXITED)
                return
        raise RuntimeError(f"run {run.pk}: more than {MAX_STEPS_PER_WAKE} steps in one go")

    def _action(self, step: Mapping[str, Any]) -> None:
        spec = action_type(step["action"])
        if self.dry:
            self._log(step, "would_do", action=step["action"], label=str(spec.label),
                      config=step.get("config", {}))
            return
        key = action_key(self.run, step["id"])
        if ActionDone.objects.filter(key=key).exists():
            self._log(step, "skipped", why="done before")
            return
        result = dict(spec.run(customer_id=self.run.customer_id,
                               config=step.get("config", {}), key=key))
        ActionDone.objects.create(key=key, run=self.run, action=step["action"], result=result)
        event_append(customer_id=self.run.customer_id, kind="automation_action",
                     data={"automation": self.run.automation_id,
                           "name": self.run.automation.name, "step": step["id"],
                           "action": step["action"]},
                     idempotency_key=f"automation:{key}")
        self._log(step, "done", **{k: v for k, v in result.items()
                                   if isinstance(v, str | int | float | bool)})


def step_work(item: WorkItem, ctx: Any) -> dict[str, Any]:
    """The `automation.step` handler (atomic: runs in the transaction that completes the
    item)."""
    payload = item.payload
    run = (Run.objects.select_for_update(of=("self",)).select_related("version", "automation")
           .filter(pk=payload["run"]).first())
    if run is None or run.seq != payload["seq"] or run.status in FINISHED:
        return {"stale": True}
    if run.automation.status == "paused":  # held where it is; looked at again later
        _schedule(run, timezone.now() + PAUSED_RECHECK)
        run.save(update_fields=["seq", "next_at"])
        return {"paused": True}
    if run.automation.status == "archived":
        run.status, run.finished_at = RunStatus.EXITED, timezone.now()
        run.save(update_fields=["status", "finished_at"])
        return {"archived": True}
    customer = Customer.objects.filter(pk=run.customer_id).first()
    if customer is None or customer.erased_at is not None:
        run.status, run.finished_at = RunStatus.EXITED, timezone.now()
        run.save(update_fields=["status", "finished_at"])
        return {"gone": True}
    walk = _Walk(run, run.version, customer)
    walk.walk(via=payload.get("via", ""))
    run.save()
    return {"status": run.status, "step": run.step}


def dry_run(version: AutomationVersion, customer: Customer) -> list[dict[str, Any]]:
    """What the steps would do for one customer now, with no side effects: actions are
    described, not run; waits are reported and skipped; a wait for an event takes its
    timeout path; branches and splits are decided on the customer's data."""
    run = Run(automation_id=version.automation_id, version=version, customer=customer,
              step=version.steps[0]["id"], test=True)
    walk = _Walk(run, version, customer, dry=True)
    walk.walk()
    return [*walk.trace, {"step": "", "type": "end", "outcome": run.status}]

