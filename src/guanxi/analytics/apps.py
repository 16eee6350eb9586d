from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "guanxi.analytics"
    label = "analytics"
    verbose_name = _("Analytics")

    def ready(self) -> None:
        from django.db.models import Q
        from django.utils.translation import gettext_lazy as _

        from guanxi.analytics.models import CustomerScore, SegmentMembership
        from guanxi.analytics.selectors import customer_score_get, segment_list
        from guanxi.analytics.services import rescore_after_merge
        from guanxi.customers.extensions import (
            ListFilter,
            Panel,
            register_list_filter,
            register_panel,
        )
        from guanxi.customers.merging import MergeRule, Strategy, register_merge_rules

        def scores(actor: Any, customer_id: int) -> dict[str, Any] | None:
            score = customer_score_get(actor=actor, customer_id=customer_id)
            return {"score": score} if score is not None else None

        register_panel(Panel("scores", "analytics/_customer_scores.html", scores, order=10))
        register_list_filter(ListFilter(
            "segment", "segment_id", _("Segment"),
            lambda actor: [(s.pk, f"{s.name} ({s.member_count})")
                           for s in segment_list(actor=actor)]))
        register_merge_rules([
            # Derived from orders and events: scored again for the merged customers.
            MergeRule(CustomerScore, Strategy.REMOVE, after=rescore_after_merge),
            # One open membership per segment: the kept customer's stays; the rest move
            # until the next refresh recomputes membership.
            MergeRule(SegmentMembership, Strategy.KEEP_SURVIVOR, key=("segment_id",),
                      conflict_filter=Q(left_at__isnull=True)),
        ])
