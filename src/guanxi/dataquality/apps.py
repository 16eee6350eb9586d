from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DataQualityConfig(AppConfig):
    name = "guanxi.dataquality"
    label = "dataquality"
    verbose_name = _("Data quality")

    def ready(self) -> None:
        from guanxi.customers.hooks import register_after_change
        from guanxi.dataquality.autotags import autotags_apply, autotags_apply_many

        register_after_change(autotags_apply, many=autotags_apply_many)

        from guanxi.core.permissions import Action, can
        from guanxi.customers.extensions import (
            Panel,
            register_duplicate_finder,
            register_panel,
        )
        from guanxi.dataquality.selectors import candidates_for_customer, possible_duplicates

        def pending_pairs(actor: Any, customer_id: int) -> dict[str, Any] | None:
            if not can(actor, Action.CUSTOMER_MERGE):
                return None
            pairs = candidates_for_customer(actor=actor, customer_id=customer_id)
            return {"candidates": pairs, "customer_id": customer_id} if pairs else None

        register_panel(Panel("duplicates", "dataquality/_customer_duplicates.html",
                             pending_pairs, place="banner"))
        register_duplicate_finder(possible_duplicates)

        from guanxi.core.watchdog import register_check
        from guanxi.dataquality.importing import imports_requeue_stalled

        register_check(imports_requeue_stalled)

        from guanxi.customers.merging import MergeRule, Strategy, register_merge_rules
        from guanxi.dataquality.models import MatchCandidate, Merge

        register_merge_rules([
            # Pairs with the absorbed customer mean nothing once the two are one; the
            # undo brings them back (the merged pair itself as "not the same person").
            MergeRule(MatchCandidate, Strategy.REMOVE, field="left"),
            MergeRule(MatchCandidate, Strategy.REMOVE, field="right"),
            # The merge records are written by the merge itself.
            MergeRule(Merge, Strategy.IGNORE, field="survivor"),
        ])
