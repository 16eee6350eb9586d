"""What analytics derives about a person (scores, segment memberships), registered with
core.privacy."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from guanxi.analytics.models import CustomerScore, SegmentMembership
from guanxi.core.jsonable import jsonable
from guanxi.core.privacy import Person, PersonalData, register_personal_data


def _scores_export(person: Person) -> list[dict[str, Any]]:
    fields = [f.name for f in CustomerScore._meta.concrete_fields
              if f.name not in ("id", "customer")]
    return [jsonable(row) for row in
            CustomerScore.objects.filter(customer_id=person.customer_id).values(*fields)]


def _memberships_export(person: Person) -> list[dict[str, Any]]:
    return [{"segment": m.segment.name, "joined_at": m.joined_at.isoformat(),
             "left_at": m.left_at.isoformat() if m.left_at else None}
            for m in SegmentMembership.objects.filter(customer_id=person.customer_id)
            .select_related("segment").order_by("joined_at")]


def register_analytics_personal_data() -> None:
    register_personal_data(PersonalData(
        "analytics.scores", _("Scores (RFM, lifecycle, value, churn risk)"), "analytics",
        {"recency_days": "derived", "frequency": "derived", "monetary": "derived",
         "stage": "derived", "tier": "derived", "churn_risk": "derived", "clv": "derived"},
        [_("Grouping customers by behaviour and value"), _("Predicting churn and value")],
        _scores_export,
        lambda p: int(CustomerScore.objects.filter(customer_id=p.customer_id).delete()[0])))
    register_personal_data(PersonalData(
        "analytics.segments", _("Segment memberships"), "analytics",
        {"segment": "derived", "joined_at": "derived", "left_at": "derived"},
        [_("Audiences for service and (with consent) marketing")], _memberships_export,
        lambda p: int(SegmentMembership.objects.filter(customer_id=p.customer_id)
                      .delete()[0])))
