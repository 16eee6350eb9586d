"""The desk's timed work: the SLA scan and closing solved tickets run in the worker's
watchdog (registrations.tick, every 30 s); the classifier is trained again each night."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task


@db_periodic_task(crontab(hour="2", minute="35"))
def train_classifier() -> None:
    from guanxi.servicedesk.training import classifier_train

    classifier_train()
