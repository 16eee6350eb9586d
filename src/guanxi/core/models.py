from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class TimeStampedModel(models.Model):
    """Abstract base with creation and update times."""

    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        abstract = True


class SiteFlag(models.Model):
    """A named one-off fact about this installation, such as 'demo data loaded'."""

    key = models.CharField(max_length=100, unique=True)
    value = models.JSONField(default=dict, blank=True)
    set_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.key


class WorkState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    DEAD = "dead", _("Failed for good")


class WorkItem(models.Model):
    """One unit of durable work (guanxi.core.work): a row claimed atomically by one
    worker under a lease it renews by heartbeat, retried with backoff, dead-lettered with
    its reason after its last attempt, made unique by an idempotency key."""

    queue = models.CharField(_("queue"), max_length=64)
    key = models.CharField(_("idempotency key"), max_length=200, unique=True, null=True,
                           blank=True)
    payload = models.JSONField(default=dict, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=WorkState.choices,
                             default=WorkState.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=5)
    run_after = models.DateTimeField(default=timezone.now)
    lease_until = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=100, blank=True)
    progress_done = models.BigIntegerField(default=0)
    progress_total = models.BigIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("work item")
        verbose_name_plural = _("work items")
        indexes = [models.Index(fields=["state", "run_after"], name="work_due")]

    def __str__(self) -> str:
        return f"{self.queue} #{self.pk} ({self.state})"
