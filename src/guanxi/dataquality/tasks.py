"""Worker jobs of the data-quality app: imports and identity-resolution runs."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task


@db_task()
def import_run_task(job_id: int) -> None:
    from guanxi.dataquality.importing import import_run

    import_run(job_id)


@db_task()
def import_inspect_task(job_id: int) -> None:
    """Read an uploaded file's columns and first rows (never in the web process)."""
    from guanxi.dataquality.importing import import_inspect

    import_inspect(job_id)


@db_task()
def resolution_run_task(run_id: int) -> None:
    from guanxi.dataquality.services import resolution_run_job

    resolution_run_job(run_id)


@db_periodic_task(crontab(minute="*/5"))
def import_watchdog_task() -> int:
    """Requeue imports whose worker died mid-file; they resume at their checkpoint."""
    from guanxi.dataquality.importing import imports_requeue_stalled

    return imports_requeue_stalled()


@db_task()
def autotags_refresh_task() -> int:
    """Apply the automatic tag rules to every customer (after a rule changed)."""
    from guanxi.dataquality.autotags import autotags_apply_all

    return autotags_apply_all()
