from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guanxi.customers.models import Customer


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
    on the customer's timeline, which keeps the history."""

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
                            default=Tier.NO_PURCHASES, db_index=True)
    cell = models.CharField(_("RFM cell"), max_length=30, choices=Cell.choices, blank=True)
    stage = models.CharField(_("lifecycle stage"), max_length=20, choices=Stage.choices,
                             db_index=True)
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
        from guanxi.analytics.churn import FEATURE_LABELS

        return [str(FEATURE_LABELS.get(name, name)) for name, _weight in self.churn_reasons]
