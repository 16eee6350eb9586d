from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DataQualityConfig(AppConfig):
    name = "guanxi.dataquality"
    label = "dataquality"
    verbose_name = _("Data quality")

    def ready(self) -> None:
        from guanxi.core import watchdog
        from guanxi.core.lazy import lazy
        from guanxi.core.work import register_handler
        from guanxi.customers.extensions import (
            Panel,
            register_duplicate_finder,
            register_panel,
        )
        from guanxi.customers.hooks import register_after_change
        from guanxi.customers.merging import MergeRule, Strategy, register_merge_rules
        from guanxi.dataquality import registrations as r
        from guanxi.dataquality.permissions import register_dataquality_actions

        register_dataquality_actions()
        from guanxi.dataquality.privacy import register_dataquality_personal_data

        register_dataquality_personal_data()
        from guanxi.core.privacy import register_related_ids
        from guanxi.dataquality.privacy import merged_ids

        register_related_ids(merged_ids)
        from guanxi.dataquality.privacy import register_dataquality_retention

        register_dataquality_retention()
        from guanxi.core.shell import (
            HomeCard,
            NavEntry,
            SearchProvider,
            register_home_card,
            register_nav,
            register_search_provider,
            register_settings_link,
        )
        from guanxi.dataquality.permissions import DataAction

        register_nav(NavEntry("imports", _("Import"), "dataquality:imports",
                              DataAction.DATA_IMPORT, 40, icon="file-import"))
        register_nav(NavEntry("duplicates", _("Duplicates"), "dataquality:duplicates",
                              DataAction.CUSTOMER_MERGE, 50, icon="copy"))
        register_settings_link(NavEntry("tag_rules", _("Automatic tags"),
                                        "dataquality:tag_rules", DataAction.DATA_IMPORT, 40,
                                        icon="tag"))
        register_home_card(HomeCard("dataquality.review", "dataquality/_home_review.html",
                                    r.review_card, DataAction.CUSTOMER_MERGE, order=30))
        register_search_provider(SearchProvider("imports", _("Imports"), r.search_imports,
                                                DataAction.DATA_IMPORT, order=40))
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
        # Queue names are the ones importing.py and services.py enqueue to.
        importing, services = "guanxi.dataquality.importing", "guanxi.dataquality.services"
        register_handler("dataquality.import", lazy(f"{importing}:import_run_work"),
                         atomic=False, lease_s=watchdog.STALE_S, max_attempts=5,
                         on_dead=lazy(f"{importing}:import_work_dead"))
        register_handler("dataquality.import_inspect",
                         lazy(f"{importing}:import_inspect_work"), atomic=False, lease_s=60,
                         max_attempts=3)
        register_handler("dataquality.resolution", lazy(f"{services}:resolution_work"),
                         atomic=False, lease_s=60, max_attempts=3,
                         on_dead=lazy(f"{services}:resolution_work_dead"))
        register_handler("dataquality.retag", lazy(f"{services}:retag_work"), atomic=False,
                         lease_s=60)
        register_merge_rules([
            # Pairs with the absorbed customer mean nothing once the two are one; the
            # undo brings them back (the merged pair itself as "not the same person").
            MergeRule(MatchCandidate, Strategy.REMOVE, field="left"),
            MergeRule(MatchCandidate, Strategy.REMOVE, field="right"),
            # The merge records are written by the merge itself.
            MergeRule(Merge, Strategy.IGNORE, field="survivor"),
        ])
