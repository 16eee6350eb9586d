"""The worker side of durable work (guanxi.core.work): run what is due."""

from __future__ import annotations

from huey.contrib.djhuey import db_task


@db_task()
def work_drain_task() -> int:
    from guanxi.core.work import work_drain

    return work_drain()
