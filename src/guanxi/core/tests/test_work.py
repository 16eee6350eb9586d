"""Durable work: claim, lease, retries with backoff, dead letter, idempotency key,
progress, and exactly-once completion when workers are killed mid-job."""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from django.db import connection
from django.utils import timezone

from guanxi.audit.models import AuditEntry
from guanxi.audit.services import log_action
from guanxi.core.models import WorkItem, WorkState
from guanxi.core.work import (
    Context,
    LeaseLost,
    register_handler,
    work_claim,
    work_drain,
    work_enqueue,
    work_execute,
    work_retry,
)


def _effect(item: WorkItem, ctx: Context):
    """A database effect that can be counted (duplicates would show)."""
    log_action(actor=None, action="test.effect", object_type="work",
               extra={"n": item.payload["n"]})
    ctx.progress(1, 1)
    if item.payload.get("fail_times", 0) >= item.attempts:
        raise RuntimeError(f"receiver down (attempt {item.attempts})")
    return {"n": item.payload["n"]}


register_handler("test.effect", _effect, max_attempts=3, backoff_s=0.01)


def _effects(n: int) -> int:
    return sum(1 for e in AuditEntry.objects.filter(action="test.effect")
               if e.extra.get("n") == n)


@pytest.mark.django_db
def test_the_same_key_enqueues_once_and_unknown_queues_are_refused():
    a = work_enqueue("test.effect", {"n": 1}, key="order-7-confirmation")
    b = work_enqueue("test.effect", {"n": 1}, key="order-7-confirmation")
    assert a.pk == b.pk and WorkItem.objects.count() == 1
    with pytest.raises(ValueError, match="no handler"):
        work_enqueue("nobody.listens", {})


@pytest.mark.django_db
def test_an_item_runs_once_and_records_result_and_progress():
    item = work_enqueue("test.effect", {"n": 2})
    assert work_drain(["test.effect"]) == 1
    item.refresh_from_db()
    assert (item.state, item.attempts, item.result) == (WorkState.DONE, 1, {"n": 2})
    assert (item.progress_done, item.progress_total) == (1, 1)
    assert _effects(2) == 1
    assert work_drain(["test.effect"]) == 0  # nothing left


@pytest.mark.django_db
def test_failures_roll_back_retry_with_backoff_then_dead_letter():
    item = work_enqueue("test.effect", {"n": 3, "fail_times": 5})
    claimed = work_claim(["test.effect"])
    assert claimed is not None and claimed.pk == item.pk
    assert work_execute(claimed) == WorkState.QUEUED
    item.refresh_from_db()
    assert item.run_after > timezone.now() - dt.timedelta(seconds=1)
    assert "receiver down (attempt 1)" in item.last_error
    assert _effects(3) == 0  # the failed attempt's writes rolled back with it
    for _attempt in range(2):
        WorkItem.objects.filter(pk=item.pk).update(run_after=timezone.now())
        work_drain(["test.effect"])
    item.refresh_from_db()
    assert (item.state, item.attempts) == (WorkState.DEAD, 3)
    assert "attempt 3" in item.last_error
    # an operator puts it back after fixing the cause
    WorkItem.objects.filter(pk=item.pk).update(payload={"n": 3})
    work_retry(item)
    work_drain(["test.effect"])
    item.refresh_from_db()
    assert item.state == WorkState.DONE and _effects(3) == 1


@pytest.mark.django_db
def test_a_worker_whose_lease_ran_out_cannot_finish_the_item():
    item = work_enqueue("test.effect", {"n": 4})
    stale = work_claim(["test.effect"], worker="a")
    assert stale is not None
    WorkItem.objects.filter(pk=item.pk).update(lease_until=timezone.now()
                                               - dt.timedelta(seconds=1))
    fresh = work_claim(["test.effect"], worker="b")  # b takes over the orphaned lease
    assert fresh is not None and fresh.attempts == 2
    assert work_execute(stale) == WorkState.RUNNING  # fenced: a's token is old
    assert _effects(4) == 0
    with pytest.raises(LeaseLost):
        Context(stale, stale.attempts).progress(1)
    assert work_execute(fresh) == WorkState.DONE and _effects(4) == 1


@pytest.mark.django_db
def test_an_item_whose_worker_died_on_its_last_attempt_is_dead_with_the_reason():
    item = work_enqueue("test.effect", {"n": 5}, max_attempts=1)
    assert work_claim(["test.effect"]) is not None
    WorkItem.objects.filter(pk=item.pk).update(lease_until=timezone.now()
                                               - dt.timedelta(seconds=1))
    assert work_claim(["test.effect"]) is None
    item.refresh_from_db()
    assert item.state == WorkState.DEAD and "worker lost" in item.last_error


WORKER = textwrap.dedent("""
    import os, time, django
    django.setup()
    from guanxi.audit.services import log_action
    from guanxi.core.work import register_handler, work_drain

    def run(item, ctx):
        log_action(actor=None, action="test.effect", object_type="work",
                   extra={"n": item.payload["n"]})
        time.sleep(item.payload["sleep"])
        return {"pid": os.getpid()}

    register_handler("test.kill", run, lease_s=2.0, max_attempts=20)
    print("ready", flush=True)
    while True:
        if not work_drain(["test.kill"]):
            time.sleep(0.05)
""")


def _database_url() -> str:
    name = connection.settings_dict["NAME"]
    if connection.vendor == "postgresql":
        s = connection.settings_dict
        return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{name}"
    return f"sqlite:///{name}"


@pytest.mark.django_db(transaction=True)
def test_workers_killed_mid_job_leave_every_item_done_exactly_once():
    if connection.vendor == "sqlite" and ":memory:" in str(connection.settings_dict["NAME"]):
        pytest.skip("worker processes need a database file")
    rng = random.Random(7)
    register_handler("test.kill", lambda item, ctx: None, lease_s=2.0,
                                 max_attempts=20)
    items = [work_enqueue("test.kill", {"n": n, "sleep": 0.3}) for n in range(40)]
    env = {**os.environ, "DATABASE_URL": _database_url(),
           "DJANGO_SETTINGS_MODULE": "guanxi.config.settings"}

    def start() -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-c", WORKER], env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    workers = [start() for _ in range(3)]
    kills = 0
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            left = WorkItem.objects.filter(queue="test.kill").exclude(
                state=WorkState.DONE).count()
            if not left:
                break
            time.sleep(rng.uniform(0.3, 0.8))
            # the victim is a worker holding an item now (a worker is "host:pid"): killing
            # an idle one would leave nothing to take over
            holding = set(WorkItem.objects.filter(queue="test.kill", state=WorkState.RUNNING)
                          .values_list("worker", flat=True))
            busy = [w for w in workers if any(h.endswith(f":{w.pid}") for h in holding)]
            if kills < 6 and busy:
                victim = rng.choice(busy)
                workers.remove(victim)
                victim.send_signal(signal.SIGKILL)  # no cleanup: mid-job, lease held
                victim.wait()
                kills += 1
                workers.append(start())
    finally:
        for w in workers:
            w.kill()
            w.wait()
    states = dict(WorkItem.objects.filter(queue="test.kill").values_list("pk", "state"))
    assert set(states.values()) == {WorkState.DONE}, states
    assert kills >= 3
    for item in items:
        assert _effects(item.payload["n"]) == 1, item.payload["n"]
    # some items were taken over from a killed worker
    assert WorkItem.objects.filter(queue="test.kill", attempts__gt=1).exists()


def test_every_registered_handler_resolves():
    """Handlers registered lazily ("module:function") name functions that exist."""
    from guanxi.core import work
    from guanxi.core.lazy import resolves

    assert {"dataquality.import", "dataquality.resolution", "analytics.scoring",
            "analytics.rescore", "dataquality.retag"} <= set(work.registered_queues())
    for handler in work._HANDLERS.values():
        for fn in (handler.run, handler.on_dead):
            target = getattr(fn, "target", None)
            assert target is None or resolves(target), target


@pytest.mark.django_db
def test_a_late_renewal_never_shortens_the_lease():
    """A heartbeat that computed its lease, then waited for the write lock behind a long
    step, must not move the lease back below what a later renewal set."""
    work_enqueue("test.effect", {"n": 6})
    item = work_claim(["test.effect"])
    later = timezone.now() + dt.timedelta(seconds=300)
    WorkItem.objects.filter(pk=item.pk).update(lease_until=later)  # a later renewal
    Context(item, item.attempts).renew()  # the late one: now + 60 s
    item.refresh_from_db()
    assert item.lease_until == later
    WorkItem.objects.filter(pk=item.pk).update(lease_until=timezone.now())
    Context(item, item.attempts).renew()
    item.refresh_from_db()
    assert item.lease_until > timezone.now() + dt.timedelta(seconds=50)
