"""Automations (a trigger, entry conditions and steps), their published versions, and
each customer's run through one: the rows the engine (automation.engine) advances."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AutomationStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    PAUSED = "paused", _("Paused")
    ARCHIVED = "archived", _("Archived")


class Reentry(models.TextChoices):
    NEVER = "never", _("Never: a customer goes through once")
    AFTER = "after", _("Again after some days")
    ALWAYS = "always", _("Every time the trigger fires")


class Automation(models.Model):
    """What staff edit. The fields trigger … goal are the draft; publishing copies them
    into a new AutomationVersion, which is what runs."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=AutomationStatus.choices,
                              default=AutomationStatus.DRAFT)
    trigger = models.CharField(_("trigger"), max_length=64)
    trigger_config = models.JSONField(_("trigger settings"), default=dict, blank=True)
    conditions = models.JSONField(_("entry conditions"), default=dict, blank=True)
    steps = models.JSONField(_("steps"), default=list, blank=True)
    goal = models.JSONField(_("goal"), default=dict, blank=True)
    reentry = models.CharField(_("re-entry"), max_length=10, choices=Reentry.choices,
                               default=Reentry.NEVER)
    reentry_days = models.PositiveIntegerField(_("re-entry after days"), default=0)
    live = models.ForeignKey("AutomationVersion", null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("automation")
        verbose_name_plural = _("automations")
        ordering = ["name"]
        indexes = [models.Index(fields=["status", "trigger"])]

    def __str__(self) -> str:
        return self.name


class AutomationVersion(models.Model):
    """A published, unchangeable copy of an automation: customers in flight finish on the
    version they entered with."""

    automation = models.ForeignKey(Automation, on_delete=models.CASCADE,
                                   related_name="versions")
    number = models.PositiveIntegerField()
    trigger = models.CharField(max_length=64)
    trigger_config = models.JSONField(default=dict)
    conditions = models.JSONField(default=dict)
    steps = models.JSONField(default=list)
    goal = models.JSONField(default=dict)
    reentry = models.CharField(max_length=10, choices=Reentry.choices)
    reentry_days = models.PositiveIntegerField(default=0)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    published_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["automation", "number"],
                                               name="automation_version_number")]

    def __str__(self) -> str:
        return f"{self.automation_id} v{self.number}"


class RunStatus(models.TextChoices):
    ACTIVE = "active", _("In progress")
    WAITING = "waiting", _("Waiting")
    COMPLETED = "completed", _("Completed")
    GOAL = "goal", _("Reached the goal")
    EXITED = "exited", _("Left")
    HOLDOUT = "holdout", _("Holdout (no actions)")
    FAILED = "failed", _("Failed")


FINISHED = (RunStatus.COMPLETED, RunStatus.GOAL, RunStatus.EXITED, RunStatus.HOLDOUT,
            RunStatus.FAILED)


class Run(models.Model):
    """One customer's way through one automation (the `occurrence`-th time they entered
    it). `step` is the id of the step to run next; `seq` counts the times the run was
    scheduled, so a stale wake-up (a timeout after the awaited event came) does nothing."""

    automation = models.ForeignKey(Automation, on_delete=models.CASCADE, related_name="runs")
    version = models.ForeignKey(AutomationVersion, on_delete=models.CASCADE,
                                related_name="runs")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE,
                                 related_name="automation_runs")
    occurrence = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=10, choices=RunStatus.choices,
                              default=RunStatus.ACTIVE)
    step = models.CharField(max_length=20, blank=True)
    seq = models.PositiveIntegerField(default=0)
    wait_kind = models.CharField(max_length=64, blank=True)  # wait for an event of this kind
    next_at = models.DateTimeField(null=True, blank=True)
    entered_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    # What let the customer in ("event:123", "dates:2026-12-01", …): one run per
    # customer per trigger firing, so a scan or an event read twice enters no one twice.
    trigger_key = models.CharField(max_length=64, blank=True)
    test = models.BooleanField(default=False)  # a test run: no side effects
    error = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["automation", "customer", "occurrence"],
                                               name="automation_run_occurrence"),
                       models.UniqueConstraint(fields=["automation", "customer", "trigger_key"],
                                               name="automation_run_trigger",
                                               condition=~models.Q(trigger_key=""))]
        indexes = [models.Index(fields=["customer", "status"]),
                   models.Index(fields=["automation", "status"]),
                   models.Index(fields=["wait_kind", "customer"], name="automation_run_waiting",
                                condition=models.Q(status="waiting") & ~models.Q(wait_kind=""))]

    def __str__(self) -> str:
        return f"run {self.pk} of automation {self.automation_id}"


class StepLog(models.Model):
    """What a step did for a run (per-step counts, the run history, the funnel)."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="log")
    automation = models.ForeignKey(Automation, on_delete=models.CASCADE, related_name="+")
    step = models.CharField(max_length=20)
    kind = models.CharField(max_length=20)
    outcome = models.CharField(max_length=20)  # done, skipped, waited, yes, no, path_N, …
    detail = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["automation", "step"])]

    def __str__(self) -> str:
        return f"{self.step}: {self.outcome}"


class ActionDone(models.Model):
    """One executed action, unique by its idempotency key (version, customer, step,
    occurrence): the engine runs an action only if its key is not here, in the same
    transaction that writes the key, so a retried step never acts twice."""

    key = models.CharField(max_length=120, unique=True)
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="actions")
    action = models.CharField(max_length=64)
    result = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.key


class TriggerState(models.Model):
    """Where a scanning trigger (dates, schedules, segment changes) got to, so a scan that
    runs twice or late neither repeats nor misses a day."""

    name = models.CharField(max_length=100, unique=True)
    value = models.CharField(max_length=100, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} = {self.value}"
