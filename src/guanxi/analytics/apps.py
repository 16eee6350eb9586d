from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "guanxi.analytics"
    label = "analytics"
    verbose_name = _("Analytics")

    def ready(self) -> None:
        from django.db.models import Q

        from guanxi.analytics import registrations as r
        from guanxi.analytics.permissions import register_analytics_actions

        register_analytics_actions()
        from guanxi.analytics.privacy import register_analytics_personal_data

        register_analytics_personal_data()
        from guanxi.analytics.models import CustomerScore, SegmentMembership
        from guanxi.customers.extensions import (
            ListFilter,
            Panel,
            register_list_filter,
            register_panel,
        )
        from guanxi.customers.merging import MergeRule, Strategy, register_merge_rules
        from guanxi.timeline.kinds import INTERNAL, SEGMENT, SYSTEM, VALUE_TIER, EventKind
        from guanxi.timeline.kinds import register_kinds as register_event_kinds

        change: dict[str, type | tuple[type, ...]] = {"from": (str, type(None)), "to": str}
        register_event_kinds([
            EventKind("stage_changed", _("Lifecycle stage changed"),
                      frozenset({INTERNAL, SYSTEM, SEGMENT}), change, strict=True,
                      render=r.became, app="analytics"),
            EventKind("tier_changed", _("Value tier changed"),
                      frozenset({INTERNAL, SYSTEM, SEGMENT, VALUE_TIER}), change,
                      strict=True, render=r.became, app="analytics"),
        ])
        from guanxi.core.automation import ConfigField, TriggerType, register_trigger_types

        segment = ConfigField("segment", _("Segment"), choices=r.segment_trigger_choices)
        register_trigger_types(
            TriggerType("analytics.segment_joined", _("Joins a segment"), "analytics",
                        (segment,)),
            TriggerType("analytics.segment_left", _("Leaves a segment"), "analytics",
                        (segment,)))
        from guanxi.customers.hooks import register_consent_changed

        register_consent_changed(r.marketing_consent_withdrawn)
        from guanxi.core.lazy import lazy
        from guanxi.core.work import register_handler

        services = "guanxi.analytics.services"
        register_handler("analytics.scoring", lazy(f"{services}:scoring_work"), atomic=False,
                         lease_s=60, max_attempts=2,
                         on_dead=lazy(f"{services}:scoring_work_dead"))
        register_handler("analytics.rescore", lazy(f"{services}:rescore_work"), lease_s=120)
        from guanxi.core.shell import (
            HomeCard,
            HomeTile,
            NavEntry,
            SearchProvider,
            register_home_card,
            register_home_tile,
            register_nav,
            register_search_provider,
        )
        from guanxi.customers.permissions import CustomerAction

        view = CustomerAction.CUSTOMER_VIEW
        register_nav(NavEntry("analytics", _("Analytics"), "analytics:overview", view, 20,
                              icon="chart-pie"))
        register_nav(NavEntry("segments", _("Segments"), "analytics:segments", view, 30,
                              icon="filter"))
        register_home_card(HomeCard("analytics.stages", "analytics/_home_stages.html",
                                    r.stages_card, view, order=20))
        register_home_tile(HomeTile("analytics.active_dormant", _("Active / dormant"),
                                    r.active_dormant_tile, view, order=25))
        register_search_provider(SearchProvider("segments", _("Segments"), r.search_segments,
                                                view, order=30))
        register_panel(Panel("stage_badges", "analytics/_customer_badges.html", r.badges_panel,
                             place="header"))
        register_panel(Panel("scores", "analytics/_customer_scores.html", r.scores_panel,
                             order=10))
        register_list_filter(ListFilter("segment", "segment_id", _("Segment"),
                                        r.segment_choices))
        register_list_filter(ListFilter("stage", "stage", _("Lifecycle stage"),
                                        r.stage_choices, lookups=r.stage_lookups))
        register_list_filter(ListFilter("tier", "tier", _("Value tier"),
                                        r.tier_choices, lookups=r.tier_lookups))
        register_merge_rules([
            # Derived from orders and events: scored again for the merged customers.
            MergeRule(CustomerScore, Strategy.REMOVE, after=r.rescore_after_merge),
            # One open membership per segment: the kept customer's stays; the rest move
            # until the next refresh recomputes membership.
            MergeRule(SegmentMembership, Strategy.KEEP_SURVIVOR, key=("segment_id",),
                      conflict_filter=Q(left_at__isnull=True)),
        ])
