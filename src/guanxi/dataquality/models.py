from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guanxi.customers.models import Customer


class MatchStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for review")
    MERGED = "merged", _("Merged")
    DISTINCT = "distinct", _("Not the same person")


class MatchCandidate(models.Model):
    """Two customers the matcher thinks may be one person, and what was decided."""

    left = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    right = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    probability = models.FloatField(_("match probability"))
    weight = models.FloatField(_("match weight"))
    # [{"field": ..., "left": ..., "right": ..., "level": ..., "weight": log2 Bayes factor}]
    explanation = models.JSONField(default=list, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=MatchStatus.choices,
                              default=MatchStatus.PENDING)
    found_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("possible duplicate")
        verbose_name_plural = _("possible duplicates")
        constraints = [
            models.UniqueConstraint(fields=["left", "right"], name="matchcandidate_pair"),
            models.CheckConstraint(condition=Q(left__lt=F("right")),
                                   name="matchcandidate_ordered"),
        ]
        indexes = [models.Index(fields=["status", "-probability"])]

    def __str__(self) -> str:
        return f"{self.left_id}~{self.right_id} ({self.probability:.3f})"


class Merge(models.Model):
    """One merge of a customer into another, with everything needed to undo it."""

    survivor = models.ForeignKey(Customer, null=True, on_delete=models.SET_NULL,
                                 related_name="+")
    survivor_number = models.BigIntegerField(_("kept customer"))
    absorbed_number = models.BigIntegerField(_("merged customer"), db_index=True)
    absorbed_name = models.CharField(_("merged customer's name"), max_length=200)
    probability = models.FloatField(null=True, blank=True)
    automatic = models.BooleanField(default=False)
    # The prior state: both customers' fields, rows moved (ids) and rows removed (data).
    snapshot = models.JSONField()
    merged_at = models.DateTimeField(default=timezone.now)
    merged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("merge")
        verbose_name_plural = _("merges")
        indexes = [models.Index(fields=["survivor_number", "-merged_at"])]

    def __str__(self) -> str:
        return f"#{self.absorbed_number} -> #{self.survivor_number}"


class JobStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Finished")
    FAILED = "failed", _("Failed")


class ImportKind(models.TextChoices):
    CUSTOMERS = "customers", _("Customers")
    ORDERS = "orders", _("Orders")


class ImportPreset(models.Model):
    """A saved column mapping and options, reused for files from the same source."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=ImportKind.choices)
    mapping = models.JSONField(_("column mapping"), default=dict)
    options = models.JSONField(_("options"), default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("import preset")
        verbose_name_plural = _("import presets")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ImportJob(models.Model):
    """One uploaded file being imported: its mapping, progress and counts."""

    kind = models.CharField(_("kind"), max_length=10, choices=ImportKind.choices)
    original_name = models.CharField(_("file"), max_length=255)
    stored_path = models.CharField(max_length=500)
    file_format = models.CharField(max_length=5)
    size_bytes = models.BigIntegerField(default=0)
    mapping = models.JSONField(_("column mapping"), default=dict)  # column -> field
    options = models.JSONField(_("options"), default=dict, blank=True)
    dry_run = models.BooleanField(_("dry run"), default=False)
    status = models.CharField(_("status"), max_length=10, choices=JobStatus.choices,
                              default=JobStatus.DRAFT)
    total_rows = models.BigIntegerField(null=True, blank=True)
    rows_done = models.BigIntegerField(default=0)  # the checkpoint a resumed run starts at
    created = models.BigIntegerField(default=0)
    updated = models.BigIntegerField(default=0)
    unchanged = models.BigIntegerField(default=0)
    failed = models.BigIntegerField(default=0)
    # rows imported with a value of an optional field dropped (see the report)
    warned = models.BigIntegerField(default=0)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.status})"

    @property
    def inspected(self) -> bool:
        """The worker has read the file's columns (imports from before this step: yes)."""
        return bool(self.options.get("inspected", True))

    @property
    def percent(self) -> int:
        if not self.total_rows:
            return 100 if self.status == JobStatus.DONE else 0
        return min(100, int(self.rows_done * 100 / self.total_rows))


class ImportRowError(models.Model):
    """Why one row of an import was not imported (or, as a warning, which value of it was
    dropped while the rest was imported)."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="row_errors")
    row = models.BigIntegerField(_("row"))
    column = models.CharField(_("column"), max_length=200, blank=True)
    field = models.CharField(_("field"), max_length=50, blank=True)
    value = models.TextField(_("value"), blank=True)
    reason = models.TextField(_("reason"))
    warning = models.BooleanField(_("warning"), default=False)
    # The row as the file had it, on the row's first problem (for the report).
    raw = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["row", "pk"]
        indexes = [models.Index(fields=["job", "row"])]

    def __str__(self) -> str:
        return f"row {self.row}: {self.reason}"


class ResolutionRun(models.Model):
    """One identity-resolution pass over the customer table, with its progress."""

    status = models.CharField(max_length=10, choices=JobStatus.choices,
                              default=JobStatus.QUEUED)
    step = models.CharField(max_length=20, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    heartbeat_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"resolution {self.pk} ({self.status})"


class TagRule(models.Model):
    """Put a tag on every customer whose attribute matches; take it off when it no longer
    does. Applied on import and whenever a customer changes."""

    class Operator(models.TextChoices):
        EQUALS = "equals", _("equals")
        CONTAINS = "contains", _("contains")
        IN = "in", _("is one of (comma separated)")
        GTE = "gte", _("is at least")
        LTE = "lte", _("is at most")
        PRESENT = "present", _("is filled in")
        EMPTY = "empty", _("is empty")

    tag = models.CharField(_("tag"), max_length=50)
    attribute = models.CharField(
        _("attribute"), max_length=60,
        help_text=_("region, gender, source, occupation, city, province, age, "
                    "birth_year, email_domain, company, or attributes.KEY"))
    operator = models.CharField(_("operator"), max_length=10, choices=Operator.choices)
    value = models.CharField(_("value"), max_length=200, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("automatic tag rule")
        verbose_name_plural = _("automatic tag rules")
        ordering = ["tag", "pk"]

    def __str__(self) -> str:
        return f"{self.tag}: {self.attribute} {self.operator} {self.value}"
