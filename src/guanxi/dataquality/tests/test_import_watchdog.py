"""An import whose worker died is taken over within about 25 seconds (its work item's
lease, renewed every few seconds by the running worker, runs out after 20 s; each
worker's watchdog looks for due items every 5 s); one that is merely slow is left alone."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time

import pytest
from django.utils import timezone

from guanxi.core import watchdog, work
from guanxi.core.models import WorkItem, WorkState
from guanxi.dataquality import importing, writing
from guanxi.dataquality.models import ImportJob, JobStatus

LEASE = 2.0  # renewed every LEASE / 3 s by the running worker
CSV = ("name,phone\n" + "".join(f"客户{i},1380013{i:04d}\n" for i in range(12))).encode()


def _queued(actor) -> ImportJob:
    job = importing.import_upload(actor=actor, name="m.csv", chunks=iter([CSV]),
                                  size=len(CSV), kind="customers", enqueue=False)
    importing.import_configure(actor=actor, job=job, mapping=job.mapping)
    return importing.import_start(actor=actor, job=job)  # a work item for the worker


def test_the_limits_resume_a_dead_import_within_thirty_seconds():
    lease = work._HANDLERS[importing.RUN_QUEUE].lease_s
    assert lease + watchdog.WATCH_S <= 30
    assert lease >= watchdog.HEARTBEAT_S * 3  # two missed beats are not death


@pytest.mark.django_db
def test_an_import_whose_worker_died_is_taken_over_and_finishes(
        personas, huey_immediate, monkeypatch):
    # given an import whose worker died mid-file (its lease ran out), and a live one
    dead, alive = _queued(personas.manager), _queued(personas.manager)
    for job in (dead, alive):
        work.work_claim([importing.RUN_QUEUE], worker=f"worker-of-{job.pk}")
    ImportJob.objects.filter(pk__in=[dead.pk, alive.pk]).update(status=JobStatus.RUNNING)
    WorkItem.objects.filter(payload__import_id=dead.pk).update(
        lease_until=timezone.now() - dt.timedelta(seconds=5))
    # when a worker's watchdog looks
    monkeypatch.setattr(work, "_last_wake", 0.0)
    watchdog.run_checks()
    # then the dead one ran again to the end in another worker; the live one is untouched
    dead.refresh_from_db()
    alive.refresh_from_db()
    assert (dead.status, dead.created) == (JobStatus.DONE, 12)
    item = WorkItem.objects.get(payload__import_id=dead.pk)
    assert (item.state, item.attempts) == (WorkState.DONE, 2)
    assert alive.status == JobStatus.RUNNING
    assert WorkItem.objects.get(payload__import_id=alive.pk).state == WorkState.RUNNING


@pytest.mark.django_db
def test_an_import_whose_workers_keep_dying_fails_with_the_reason(personas):
    job = _queued(personas.manager)
    WorkItem.objects.filter(payload__import_id=job.pk).update(
        state=WorkState.RUNNING, attempts=5, lease_until=timezone.now()
        - dt.timedelta(seconds=1))
    assert work.work_claim([importing.RUN_QUEUE]) is None
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "resume" in job.error


@pytest.mark.django_db(transaction=True)
def test_a_slow_import_keeps_its_lease_and_is_never_taken_over(personas, monkeypatch):
    # given a short lease, one row per chunk and rows slower than the lease in all
    handler = work._HANDLERS[importing.RUN_QUEUE]
    monkeypatch.setitem(work._HANDLERS, importing.RUN_QUEUE,
                        dataclasses.replace(handler, lease_s=LEASE))
    monkeypatch.setattr(writing, "CHUNK", 1)
    real = writing._customer_write

    def slow(*args, **kwargs):
        time.sleep(0.3)
        return real(*args, **kwargs)

    monkeypatch.setattr(writing, "_customer_write", slow)
    monkeypatch.setattr(writing, "_bulk_create_new", lambda *a, **k: set())
    job = _queued(personas.manager)
    # the first row loads the name, phone and script libraries (seconds on a busy
    # machine, some of it holding the GIL): done before the short lease starts
    importing.import_preview(actor=personas.manager, job=job, limit=3)
    taken: list[object] = []
    stop = threading.Event()

    def other_worker() -> None:
        from django.db import connections

        while not stop.wait(0.05):
            taken.append(work.work_claim([importing.RUN_QUEUE], worker="other"))
        connections.close_all()

    item = work.work_claim([importing.RUN_QUEUE], worker="this")
    watcher = threading.Thread(target=other_worker)
    watcher.start()
    try:
        started = time.monotonic()
        assert work.work_execute(item) == WorkState.DONE
        took = time.monotonic() - started
    finally:
        stop.set()
        watcher.join()
    job.refresh_from_db()
    assert took > 1.5 * LEASE  # longer than the lease
    assert (job.status, job.created) == (JobStatus.DONE, 12)
    assert len(taken) > 10 and not any(taken)


def test_the_worker_loop_runs_the_registered_checks(monkeypatch):
    ran = threading.Event()
    monkeypatch.setattr(watchdog, "_CHECKS", {(lambda: ran.set() or 0): 0.01})
    stop = threading.Event()
    loop = threading.Thread(target=watchdog.watch_forever, args=(stop, 0.01))
    loop.start()
    assert ran.wait(5)
    stop.set()
    loop.join(timeout=5)
    assert not loop.is_alive()


@pytest.mark.django_db
def test_a_worker_that_lost_its_lease_commits_no_chunk(personas):
    from guanxi.customers.models import Customer

    job = _queued(personas.manager)
    stale = work.work_claim([importing.RUN_QUEUE], worker="a")
    WorkItem.objects.filter(pk=stale.pk).update(
        lease_until=timezone.now() - dt.timedelta(seconds=1))
    fresh = work.work_claim([importing.RUN_QUEUE], worker="b")  # b took it over
    before = Customer.objects.count()
    assert work.work_execute(stale) == WorkState.RUNNING  # a stops at its first chunk
    job.refresh_from_db()
    assert job.rows_done == 0 and Customer.objects.count() == before
    assert work.work_execute(fresh) == WorkState.DONE
    job.refresh_from_db()
    assert (job.status, job.created) == (JobStatus.DONE, 12)
