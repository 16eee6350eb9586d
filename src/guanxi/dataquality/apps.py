from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DataQualityConfig(AppConfig):
    name = "guanxi.dataquality"
    label = "dataquality"
    verbose_name = _("Data quality")

    def ready(self) -> None:
        from guanxi.core.watchdog import register_check
        from guanxi.customers.extensions import (
            Panel,
            register_duplicate_finder,
            register_panel,
        )
        from guanxi.customers.hooks import register_after_change
        from guanxi.customers.merging import MergeRule, Strategy, register_merge_rules
        from guanxi.dataquality import registrations as r
        from guanxi.dataquality.models import MatchCandidate, Merge
        from guanxi.timeline.kinds import INTERNAL, SYSTEM, EventKind, register_kinds

        merge = {"merge_id": int, "absorbed": int, "other": int, "name": str,
                 "automatic": bool, "fields": list}
        register_kinds([
            EventKind("customer_merged", _("Duplicate merged in"),
                      frozenset({INTERNAL, SYSTEM}), merge, strict=True, render=r.merged,
                      app="dataquality", personal=frozenset({"name"})),
            EventKind("customer_unmerged", _("Merge undone"), frozenset({INTERNAL, SYSTEM}),
                      merge, strict=True, render=r.unmerged, app="dataquality",
                      personal=frozenset({"name"})),
        ])

        register_after_change(r.autotags_apply, many=r.autotags_apply_many)
        register_panel(Panel("duplicates", "dataquality/_customer_duplicates.html",
                             r.pending_pairs, place="banner"))
        register_duplicate_finder(r.possible_duplicates)
        register_check(r.imports_requeue_stalled)
        register_merge_rules([
            # Pairs with the absorbed customer mean nothing once the two are one; the
            # undo brings them back (the merged pair itself as "not the same person").
            MergeRule(MatchCandidate, Strategy.REMOVE, field="left"),
            MergeRule(MatchCandidate, Strategy.REMOVE, field="right"),
            # The merge records are written by the merge itself.
            MergeRule(Merge, Strategy.IGNORE, field="survivor"),
        ])
