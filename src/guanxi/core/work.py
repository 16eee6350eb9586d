"""Durable work: the one primitive under every job and outbox (imports, identity
resolution, scoring, later messages, journey steps, SLA timers, webhook deliveries).

A unit of work is a row (`core.WorkItem`). Whatever the job runner does — a worker
killed, a task delivered twice, Redis flushed — the row decides:

- **claim**: one worker takes a due item atomically (PostgreSQL: `FOR UPDATE SKIP
  LOCKED`; SQLite: a conditional UPDATE under its single writer) and holds a *lease*;
  every claim increments `attempts`, which is the item's fencing token;
- **heartbeat**: a long handler's lease is renewed from a thread while it runs; an item
  whose lease ran out (its worker died) is claimed again by the next worker;
- **exactly once**: an `atomic` handler runs inside the transaction that marks the item
  done, after re-asserting its claim in it (the row lock on PostgreSQL, the write lock on
  SQLite keep any other claimer out until it commits), so its database effects and the
  completion commit together or not at all; a handler that checkpoints (`atomic=False`)
  must make each step idempotent itself;
- **retries** with exponential backoff, then the **dead-letter** state with the reason;
- an **idempotency key**: enqueueing the same key twice gives the same item;
- **progress** (`ctx.progress(done, total)`) for the UI.

Apps register a handler per queue in AppConfig.ready(); the worker runs due items when
woken by an enqueue (a Huey task after commit) and from its watchdog loop, so retries
and orphaned leases need no separate scheduler.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import random
import socket
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import DateTimeField, F, Q, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.translation import gettext as _
from huey.contrib.djhuey import db_task

from guanxi.core import watchdog
from guanxi.core.bulk import insert_objects
from guanxi.core.models import WorkItem, WorkState

logger = logging.getLogger(__name__)

BACKOFF_CAP_S = 3600.0


class LeaseLost(Exception):
    """The item was claimed by another worker (this one's lease ran out)."""


@dataclass
class Context:
    """What a running handler can do with its item."""

    item: WorkItem
    token: int

    def renew(self) -> None:
        """Re-assert the claim and extend the lease. Called inside the handler's own
        transaction before it commits a step, it makes the step commit only while the
        item is this worker's (raises LeaseLost otherwise, rolling the step back)."""
        if not _mine(self.item.pk, self.token).update(lease_until=_extended(self.item.queue)):
            raise LeaseLost(self.item.pk)

    def progress(self, done: int, total: int | None = None) -> None:
        """Record progress (and renew the lease). Raises LeaseLost if the item is no
        longer this worker's, so a stale worker stops instead of racing the new one."""
        fields: dict[str, Any] = {"progress_done": done}
        if total is not None:
            fields["progress_total"] = total
        fields["lease_until"] = _extended(self.item.queue)
        if not _mine(self.item.pk, self.token).update(**fields):
            raise LeaseLost(self.item.pk)


def _extended(queue: str) -> Any:
    """The lease moved forward, never back: a renewal computed before it waited for the
    database's write lock (a heartbeat behind a long step) must not shorten a lease a
    later renewal already extended, or another worker takes over a live item."""
    lease = Value(timezone.now() + dt.timedelta(seconds=_HANDLERS[queue].lease_s),
                  output_field=DateTimeField())
    return Greatest(Coalesce(F("lease_until"), lease), lease)


Run = Callable[[WorkItem, Context], Mapping[str, Any] | None]
OnDead = Callable[[WorkItem, str], None]


@dataclass(frozen=True)
class Handler:
    queue: str
    run: Run
    max_attempts: int = 5
    lease_s: float = 60.0
    backoff_s: float = 5.0
    atomic: bool = True
    on_dead: OnDead | None = None  # told when an item gives up (e.g. mark a job failed)


_HANDLERS: dict[str, Handler] = {}


def register_handler(queue: str, run: Run, *, max_attempts: int = 5, lease_s: float = 60.0,
                     backoff_s: float = 5.0, atomic: bool = True,
                     on_dead: OnDead | None = None) -> None:
    """`atomic`: the handler's writes commit with the completion (short handlers).
    Otherwise the lease is renewed by a heartbeat thread and the handler checkpoints."""
    _HANDLERS[queue] = Handler(queue, run, max_attempts, lease_s, backoff_s, atomic, on_dead)


def _dead(item_id: int, queue: str, reason: str) -> None:
    handler = _HANDLERS.get(queue)
    if handler is None or handler.on_dead is None:
        return
    try:
        handler.on_dead(WorkItem.objects.get(pk=item_id), reason)
    except Exception:
        logger.exception("work item %s: on_dead failed", item_id)


def registered_queues() -> list[str]:
    return sorted(_HANDLERS)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


# --- enqueue ---------------------------------------------------------------------------

def work_enqueue(queue: str, payload: Mapping[str, Any] | None = None, *,
                 key: str | None = None, run_after: dt.datetime | None = None,
                 max_attempts: int | None = None) -> WorkItem:
    """Add an item (after the surrounding transaction commits, a worker is woken). With
    `key`, enqueueing again returns the item already there instead of a second one."""
    if queue not in _HANDLERS:
        raise ValueError(f"no handler registered for queue {queue!r}")
    if key is not None and (existing := WorkItem.objects.filter(key=key).first()):
        return existing
    try:
        with transaction.atomic():
            item = WorkItem.objects.create(
                queue=queue, key=key, payload=dict(payload or {}),
                run_after=run_after or timezone.now(),
                max_attempts=max_attempts or _HANDLERS[queue].max_attempts)
    except IntegrityError:
        if key is None:
            raise
        return WorkItem.objects.get(key=key)
    transaction.on_commit(_wake)
    return item


def work_enqueue_many(queue: str, items: Iterable[tuple[Mapping[str, Any], str,
                                                       dt.datetime | None]]) -> int:
    """work_enqueue for many items at once: (payload, key, run_after) each; an item whose
    key exists already is left out. Returns how many were added."""
    if queue not in _HANDLERS:
        raise ValueError(f"no handler registered for queue {queue!r}")
    now = timezone.now()
    handler = _HANDLERS[queue]
    rows = [{"queue": queue, "key": key, "payload": dict(payload),
             "run_after": run_after or now, "max_attempts": handler.max_attempts,
             "created_at": now, "worker": "", "last_error": ""}
            for payload, key, run_after in items]
    if not rows:
        return 0
    added = insert_objects(WorkItem, rows, ignore_conflicts=True)
    transaction.on_commit(_wake)
    return added


@db_task()
def work_drain_task() -> int:
    """The worker side: run what is due (a Huey task, queued after an enqueue commits)."""
    return work_drain()


def _wake() -> None:
    try:
        work_drain_task()
    except Exception:  # the job runner down: the watchdog loop still finds the item
        logger.warning("could not wake a worker; the item waits for the watchdog loop")


# --- claim -----------------------------------------------------------------------------

def _due(now: dt.datetime) -> Q:
    return (Q(state=WorkState.QUEUED, run_after__lte=now)
            | Q(state=WorkState.RUNNING, lease_until__lt=now))


def _mine(pk: int, token: int) -> Any:
    return WorkItem.objects.filter(pk=pk, state=WorkState.RUNNING, attempts=token)


def work_claim(queues: Iterable[str] | None = None, *, worker: str | None = None
               ) -> WorkItem | None:
    """Take the oldest due item of `queues` (default: all registered) for this worker."""
    names = list(queues) if queues is not None else registered_queues()
    if not names:
        return None
    worker = worker or worker_name()
    postgres = connection.vendor == "postgresql"
    for _attempt in range(20):
        now = timezone.now()
        # PostgreSQL: the candidate row stays locked (others skip it) until the claim
        # commits. SQLite: read without taking the write lock (a busy writer is not
        # waited for just to find nothing due); the conditional UPDATE decides.
        with transaction.atomic() if postgres else contextlib.nullcontext():
            candidates = (WorkItem.objects.filter(_due(now), queue__in=names)
                          .order_by("run_after", "pk"))
            if postgres:
                candidates = candidates.select_for_update(skip_locked=True)
            row = candidates.values("pk", "queue", "attempts", "max_attempts").first()
            if row is None:
                return None
            if row["attempts"] >= row["max_attempts"]:
                # its worker died on the last attempt: dead, with the reason
                reason = _("stopped without finishing %(n)s times (worker lost)") % {
                    "n": row["attempts"]}
                if WorkItem.objects.filter(_due(now), pk=row["pk"]).update(
                        state=WorkState.DEAD, finished_at=now, lease_until=None,
                        last_error=reason):
                    _dead(row["pk"], row["queue"], reason)
                continue
            lease = now + dt.timedelta(seconds=_HANDLERS[row["queue"]].lease_s)
            # Conditional: on SQLite another process may have claimed it since the read.
            claimed = WorkItem.objects.filter(_due(now), pk=row["pk"]).update(
                state=WorkState.RUNNING, attempts=F("attempts") + 1, lease_until=lease,
                worker=worker, started_at=now)
            if claimed:
                return WorkItem.objects.get(pk=row["pk"])
    return None


# --- run -------------------------------------------------------------------------------

def _backoff(handler: Handler, attempts: int) -> dt.timedelta:
    delay = min(BACKOFF_CAP_S, handler.backoff_s * 2 ** max(0, attempts - 1))
    return dt.timedelta(seconds=delay * random.uniform(0.8, 1.2))


def _fail(item: WorkItem, token: int, error: str) -> WorkState:
    handler = _HANDLERS[item.queue]
    now = timezone.now()
    if token >= item.max_attempts:
        if _mine(item.pk, token).update(state=WorkState.DEAD, last_error=error[:4000],
                                        finished_at=now, lease_until=None):
            _dead(item.pk, item.queue, error)
        return WorkState.DEAD
    _mine(item.pk, token).update(state=WorkState.QUEUED, last_error=error[:4000],
                                 lease_until=None, run_after=now + _backoff(handler, token))
    return WorkState.QUEUED


def _finish(item: WorkItem, token: int, ctx_result: Mapping[str, Any] | None) -> int:
    updated: int = _mine(item.pk, token).update(
        state=WorkState.DONE, result=dict(ctx_result or {}), finished_at=timezone.now(),
        lease_until=None, last_error="")
    return updated


def work_execute(item: WorkItem) -> WorkState:
    """Run a claimed item's handler and record how it ended."""
    handler = _HANDLERS[item.queue]
    token = item.attempts
    ctx = Context(item, token)
    try:
        if handler.atomic:
            with transaction.atomic():
                # Re-assert the claim inside the transaction: on PostgreSQL this locks the
                # row, so no other worker can claim it until this commits or rolls back.
                if not _mine(item.pk, token).update(lease_until=_extended(item.queue)):
                    raise LeaseLost(item.pk)
                result = handler.run(item, ctx)
                if not _finish(item, token, result):
                    raise LeaseLost(item.pk)
        else:
            def beat() -> None:
                _mine(item.pk, token).update(lease_until=_extended(item.queue))

            with watchdog.heartbeat(beat, interval=max(1.0, handler.lease_s / 3)):
                result = handler.run(item, ctx)
            if not _finish(item, token, result):
                raise LeaseLost(item.pk)
    except LeaseLost:
        logger.warning("work item %s: lease lost to another worker; stopping", item.pk)
        return WorkState.RUNNING
    except Exception as exc:
        logger.exception("work item %s (%s) failed", item.pk, item.queue)
        return _fail(item, token, f"{type(exc).__name__}: {exc}")
    return WorkState.DONE


def work_run_one(queues: Iterable[str] | None = None, *, worker: str | None = None
                 ) -> WorkItem | None:
    item = work_claim(queues, worker=worker)
    if item is not None:
        work_execute(item)
    return item


def work_drain(queues: Iterable[str] | None = None, *, limit: int = 1000,
               worker: str | None = None) -> int:
    """Run due items until none is left (or `limit`); returns how many ran."""
    ran = 0
    names = list(queues) if queues is not None else None
    while ran < limit:
        try:
            item = work_run_one(names, worker=worker)
        except OperationalError:  # SQLite busy beyond its timeout: try again later
            logger.warning("work claim: database busy")
            break
        if item is None:
            break
        ran += 1
    return ran


def work_due_count() -> int:
    return WorkItem.objects.filter(_due(timezone.now()), queue__in=registered_queues()).count()


_last_wake = 0.0


def work_wake_if_due() -> int:
    """The watchdog's check (every few seconds in each worker): due items — retries whose
    backoff ended, leases of dead workers — get a worker (one wake per 10 s)."""
    import time

    global _last_wake
    if time.monotonic() - _last_wake < 10 or not work_due_count():
        return 0
    _last_wake = time.monotonic()
    _wake()
    return 0


def work_retry(item: WorkItem) -> WorkItem:
    """Put a dead item back in the queue (an operator's decision), with fresh attempts."""
    WorkItem.objects.filter(pk=item.pk, state=WorkState.DEAD).update(
        state=WorkState.QUEUED, attempts=0, run_after=timezone.now(), finished_at=None)
    transaction.on_commit(_wake)
    item.refresh_from_db()
    return item
