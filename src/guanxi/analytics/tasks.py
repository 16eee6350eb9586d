"""Periodic jobs of the analytics app. Full scoring runs and rescoring after merges are
durable work items (guanxi.core.work), registered in AnalyticsConfig.ready()."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task


@db_periodic_task(crontab(hour="2", minute="30"))
def scores_refresh_task() -> int:
    """Nightly: RFM, tiers, lifecycle stages, lifetime value and churn risk for every
    customer, then every segment (segments read the fresh scores). Queued once per day
    as a work item, so a second scheduler or a redelivered task runs nothing twice."""
    from django.utils import timezone

    from guanxi.analytics.services import scores_nightly_enqueue

    return int(scores_nightly_enqueue(timezone.localdate()).pk)


@db_periodic_task(crontab(minute="*/5"))
def scores_incremental_task() -> dict[str, int]:
    """Every five minutes: customers with new paid orders, with the last run's models."""
    from guanxi.analytics.services import scores_refresh_changed

    return scores_refresh_changed()
