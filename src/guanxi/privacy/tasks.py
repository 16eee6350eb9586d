"""The nightly retention job, run by the worker."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task


@db_periodic_task(crontab(hour="3", minute="45"))
def retention_task() -> dict[str, int]:
    from guanxi.privacy.services import retention_run

    return retention_run()
