"""The programme's nightly work: points past their date expire, then the tier review
(both safe to run twice; the order events and reservations are read by the worker's
watchdog, see registrations.tick)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task


@db_periodic_task(crontab(hour="3", minute="10"))
def points_expire_task() -> None:
    from guanxi.loyalty.jobs import points_expire, tiers_review

    points_expire()
    tiers_review()
