from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ConsumerCursor(models.Model):
    """How far one consumer of the timeline (automation, webhooks, KPIs) has read.

    On PostgreSQL the position is (transaction id, event id): events are read only from
    transactions that have ended, in that order, so an event committed late by a long
    transaction is never skipped. On SQLite writes are serialised, so ids commit in order
    and the transaction part stays 0."""

    name = models.CharField(_("consumer"), max_length=100, unique=True)
    xid = models.BigIntegerField(default=0)
    event_id = models.BigIntegerField(default=0)
    events_read = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("timeline consumer")
        verbose_name_plural = _("timeline consumers")

    def __str__(self) -> str:
        return f"{self.name} @ {self.xid}/{self.event_id}"
