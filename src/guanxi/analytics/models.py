from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guanxi.customers.models import Customer

# The churn horizon (and that of expected purchases): a customer known for less than this
# has no churn risk yet. Here, not in the scoring package, so pages need no numpy.
SCORING_HORIZON_DAYS = 90


class Stage(models.TextChoices):
    NEW = "new", _("New")
    ACTIVE = "active", _("Active")
    POTENTIAL = "potential", _("Potential")
    DORMANT = "dormant", _("Dormant")
    CHURNED = "churned", _("Churned")
    HIGH_VALUE = "high_value", _("High value")


class Tier(models.TextChoices):
    IMPORTANT_VALUE = "important_value", _("Important value")
    IMPORTANT_DEVELOPMENT = "important_development", _("Important development")
    GENERAL_VALUE = "general_value", _("General value")
    LOW_VALUE = "low_value", _("Low value")
    NO_PURCHASES = "no_purchases", _("No purchases")


class Cell(models.TextChoices):
    IMPORTANT_VALUE = "important_value", _("Important value")
    IMPORTANT_DEVELOPMENT = "important_development", _("Important development")
    IMPORTANT_KEEP = "important_keep", _("Important to keep")
    IMPORTANT_WINBACK = "important_winback", _("Important to win back")
    GENERAL_VALUE = "general_value", _("General value")
    GENERAL_DEVELOPMENT = "general_development", _("General development")
    GENERAL_KEEP = "general_keep", _("General keep")
    GENERAL_WINBACK = "general_winback", _("General win back")
    NONE = "", _("—")


class CustomerScore(models.Model):
    """The latest scores of one customer; every change of stage or tier is also an event
    on the customer's timeline, which keeps the history.

    Every row is rewritten by each full run, so the table has no index but its key (a
    filter on stage or tier reads a million rows in a fraction of a second) and, on
    PostgreSQL, pages left half empty so the rewrites are HOT updates (see migration
    0005: the write of a million scores went from 17.5 s to 4.3 s)."""

    customer = models.OneToOneField(Customer, primary_key=True, on_delete=models.CASCADE,
                                    related_name="score")
    scored_at = models.DateTimeField(default=timezone.now)
    recency_days = models.FloatField(_("days since last purchase"), null=True, blank=True)
    frequency = models.IntegerField(_("purchase days in the window"), default=0)
    monetary = models.DecimalField(_("spend in the window"), max_digits=14, decimal_places=2,
                                   default=0)
    r = models.SmallIntegerField(null=True, blank=True)
    f = models.SmallIntegerField(null=True, blank=True)
    m = models.SmallIntegerField(null=True, blank=True)
    tier = models.CharField(_("value tier"), max_length=30, choices=Tier.choices,
                            default=Tier.NO_PURCHASES)
    cell = models.CharField(_("RFM cell"), max_length=30, choices=Cell.choices, blank=True)
    stage = models.CharField(_("lifecycle stage"), max_length=20, choices=Stage.choices)
    expected_purchases = models.FloatField(_("expected purchases, next 90 days"), null=True,
                                           blank=True)
    p_alive = models.FloatField(_("probability still active"), null=True, blank=True)
    clv = models.DecimalField(_("expected value, next 12 months"), max_digits=14,
                              decimal_places=2, null=True, blank=True)
    churn_risk = models.FloatField(_("risk of buying nothing in the next 90 days"),
                                   null=True, blank=True)
    # [[feature, contribution in log-odds], ...] the top reasons for the risk
    churn_reasons = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = _("customer score")
        verbose_name_plural = _("customer scores")

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.stage}/{self.tier}"

    @property
    def churn_reason_labels(self) -> list[str]:
        from guanxi.analytics.churn_model import FEATURE_LABELS

        return [str(FEATURE_LABELS.get(name, name)) for name, _weight in self.churn_reasons]


class Segment(models.Model):
    """A named audience defined by rules; other modules select customers by its id."""

    class Purpose(models.TextChoices):
        GENERAL = "", _("Analysis and service")
        MARKETING = "marketing", _("Marketing")

    name = models.CharField(_("name"), max_length=100, unique=True)
    rules = models.JSONField(_("rules"), default=dict)
    # A marketing audience holds only customers who agree to marketing on some channel;
    # withdrawing that consent takes them out at once.
    purpose = models.CharField(_("purpose"), max_length=20, choices=Purpose.choices,
                               default=Purpose.GENERAL, blank=True)
    created_by = models.ForeignKey("accounts.User", null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    member_count = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SegmentMembership(models.Model):
    """A customer's time in a segment: left_at is empty while they are in it."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="memberships")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE,
                                 related_name="segment_memberships")
    joined_at = models.DateTimeField(default=timezone.now)
    left_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["segment", "left_at", "customer"])]
        constraints = [models.UniqueConstraint(
            fields=["segment", "customer"], condition=models.Q(left_at__isnull=True),
            name="segment_one_open_membership")]

    def __str__(self) -> str:
        return f"{self.segment_id}:{self.customer_id}"


class SegmentSize(models.Model):
    """The size of a segment at each refresh, for the size-over-time chart."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="sizes")
    at = models.DateTimeField(default=timezone.now)
    members = models.IntegerField()
    joined = models.IntegerField(default=0)
    left = models.IntegerField(default=0)

    class Meta:
        ordering = ["at"]

    def __str__(self) -> str:
        return f"{self.segment_id}@{self.at:%Y-%m-%d}: {self.members}"


class ScoringSettings(models.Model):
    """The business's RFM and lifecycle rules (one row; absent means the defaults)."""

    rfm = models.JSONField(_("RFM settings"), default=dict, blank=True)
    lifecycle = models.JSONField(_("lifecycle settings"), default=dict, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey("accounts.User", null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("scoring settings")
        verbose_name_plural = _("scoring settings")

    def __str__(self) -> str:
        return str(_("scoring settings"))


class RunStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ScoringRun(models.Model):
    """One scoring job: its progress while it runs, then its figures and the fitted models
    that later incremental runs (customers with new orders) score with."""

    started_at = models.DateTimeField(default=timezone.now)
    heartbeat_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    as_of = models.DateTimeField()
    incremental = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=RunStatus.choices,
                              default=RunStatus.RUNNING)
    step = models.CharField(max_length=40, blank=True)
    done = models.IntegerField(default=0)
    total = models.IntegerField(default=0)
    customers = models.IntegerField(default=0)
    changed = models.IntegerField(default=0)
    # highest order id seen: customers with newer orders are scored incrementally
    last_order_id = models.BigIntegerField(default=0)
    figures = models.JSONField(default=dict, blank=True)   # timings, model quality
    fitted = models.BinaryField(null=True, blank=True)     # fitted models (pickled)
    error = models.TextField(blank=True)
    started_by = models.ForeignKey("accounts.User", null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"scoring {self.pk} {self.status}"

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0
