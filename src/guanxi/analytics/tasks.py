"""Worker jobs of the analytics app."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task


@db_periodic_task(crontab(hour="2", minute="30"))
def scores_refresh_task() -> dict[str, int]:
    """Nightly: RFM, tiers, lifecycle stages and lifetime value for every customer."""
    from guanxi.analytics.services import scores_refresh, segments_refresh_all

    summary = scores_refresh()
    segments_refresh_all()  # segments read the fresh scores
    return summary


@db_task()
def scores_refresh_now_task() -> dict[str, int]:
    from guanxi.analytics.services import scores_refresh

    return scores_refresh()
