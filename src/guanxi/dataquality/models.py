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
