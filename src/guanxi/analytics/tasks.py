"""Worker jobs of the analytics app."""

from __future__ import annotations

from typing import Any

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task


@db_periodic_task(crontab(hour="2", minute="30"))
def scores_refresh_task() -> dict[str, Any]:
    """Nightly: RFM, tiers, lifecycle stages, lifetime value and churn risk for every
    customer, then every segment (segments read the fresh scores)."""
    from guanxi.analytics.services import scores_refresh, segments_refresh_all

    summary = scores_refresh()
    segments_refresh_all()
    return summary


@db_periodic_task(crontab(minute="*/5"))
def scores_incremental_task() -> dict[str, int]:
    """Every five minutes: customers with new paid orders, with the last run's models."""
    from guanxi.analytics.services import scores_refresh_changed

    return scores_refresh_changed()


@db_task()
def scores_run_task(run_id: int) -> dict[str, Any]:
    """A full run a user started from the settings page."""
    from guanxi.analytics.models import ScoringRun
    from guanxi.analytics.services import scores_refresh, segments_refresh_all

    run = ScoringRun.objects.get(pk=run_id)
    summary = scores_refresh(actor=run.started_by, run=run)
    segments_refresh_all()
    return summary


@db_task()
def scores_refresh_customers_task(customer_ids: list[int]) -> int:
    """Customers whose orders changed hands in a merge or its undo."""
    from guanxi.analytics.services import scores_refresh_customers

    return scores_refresh_customers(customer_ids=customer_ids)
