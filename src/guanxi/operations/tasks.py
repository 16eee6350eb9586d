"""The nightly backup, run by the worker (guanxi worker / guanxi demo)."""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from guanxi.operations.backups import backup_create, backup_rotate


@db_periodic_task(crontab(minute="7"))
def statistics_refresh_task() -> None:
    """The query planner's statistics, every hour (see core.dbstats)."""
    from guanxi.core.dbstats import statistics_refresh_light

    statistics_refresh_light()


@db_periodic_task(crontab(hour="3", minute="15"))
def nightly_backup_task() -> str | None:
    """Keep the last N nightly backups in var/backups (GUANXI_BACKUP_KEEP, 0 disables)."""
    keep = int(os.environ.get("GUANXI_BACKUP_KEEP", "7"))
    if keep <= 0:
        return None
    directory = Path(settings.VAR_DIR) / "backups"
    path = directory / f"guanxi-{timezone.now():%Y%m%d-%H%M%S}.backup"
    backup_create(path=path)
    backup_rotate(directory, keep)
    return str(path)
