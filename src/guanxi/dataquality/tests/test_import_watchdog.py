"""An import whose worker died resumes within about 25 seconds (heartbeat every 5 s,
stale after 20 s, the worker's watchdog looks every 5 s); one that is merely slow is
left alone."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.utils import timezone

from guanxi.core import watchdog
from guanxi.dataquality import importing, writing
from guanxi.dataquality.models import ImportJob, JobStatus

CSV = ("name,phone\n" + "".join(f"客户{i},1380013{i:04d}\n" for i in range(12))).encode()


def _queued(actor) -> ImportJob:
    job = importing.import_upload(actor=actor, name="m.csv", chunks=iter([CSV]),
                                  size=len(CSV), kind="customers")
    importing.import_configure(actor=actor, job=job, mapping=job.mapping)
    ImportJob.objects.filter(pk=job.pk).update(status=JobStatus.QUEUED)
    return job


def test_the_limits_resume_a_dead_import_within_thirty_seconds():
    assert watchdog.STALE_S + watchdog.WATCH_S <= 30
    assert watchdog.HEARTBEAT_S * 3 <= watchdog.STALE_S  # two missed beats are not death


@pytest.mark.django_db
def test_the_watchdog_requeues_a_job_without_a_heartbeat_and_it_finishes(
        personas, huey_immediate, django_capture_on_commit_callbacks):
    # given an import whose worker died 25 s after its last heartbeat, and a live one
    dead, alive = _queued(personas.manager), _queued(personas.manager)
    ImportJob.objects.filter(pk=dead.pk).update(
        status=JobStatus.RUNNING, heartbeat_at=timezone.now() - dt.timedelta(seconds=25))
    ImportJob.objects.filter(pk=alive.pk).update(
        status=JobStatus.RUNNING, heartbeat_at=timezone.now() - dt.timedelta(seconds=3))
    # when the worker's watchdog looks
    with django_capture_on_commit_callbacks(execute=True):
        assert watchdog.run_checks() == 1
    # then the dead one ran again to the end, the live one was not touched
    dead.refresh_from_db()
    alive.refresh_from_db()
    assert (dead.status, dead.created) == (JobStatus.DONE, 12)
    assert alive.status == JobStatus.RUNNING


@pytest.mark.django_db(transaction=True)
def test_a_slow_import_keeps_its_heartbeat_and_is_never_requeued(personas, monkeypatch):
    # given short limits, one row per chunk and rows slower than the stale limit in all
    monkeypatch.setattr(watchdog, "HEARTBEAT_S", 0.05)
    monkeypatch.setattr(watchdog, "STALE_S", 0.4)
    monkeypatch.setattr(writing, "CHUNK", 1)
    real = writing._customer_write

    def slow(*args, **kwargs):
        time.sleep(0.1)
        return real(*args, **kwargs)

    monkeypatch.setattr(writing, "_customer_write", slow)
    monkeypatch.setattr(writing, "_bulk_create_new", lambda *a, **k: set())
    job = _queued(personas.manager)
    requeued: list[int] = []
    stop = threading.Event()

    def watch() -> None:
        from django.db import connections

        while not stop.wait(0.05):
            requeued.append(importing.imports_requeue_stalled())
        connections.close_all()

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        started = time.monotonic()
        importing.import_run(job.pk)
        took = time.monotonic() - started
    finally:
        stop.set()
        watcher.join()
    job.refresh_from_db()
    assert took > 3 * watchdog.STALE_S  # much longer than the stale limit
    assert (job.status, job.created) == (JobStatus.DONE, 12)
    assert sum(requeued) == 0 and len(requeued) > 10


def test_the_worker_loop_runs_the_registered_checks(monkeypatch):
    ran = threading.Event()
    monkeypatch.setattr(watchdog, "_CHECKS", [lambda: ran.set() or 0])
    stop = threading.Event()
    loop = threading.Thread(target=watchdog.watch_forever, args=(stop, 0.01))
    loop.start()
    assert ran.wait(5)
    stop.set()
    loop.join(timeout=5)
    assert not loop.is_alive()
