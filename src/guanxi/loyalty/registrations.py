"""What loyalty adds to the platform's registries (called from LoyaltyConfig.ready()):
permissions, event kinds, automation actions, the order reader and the timed jobs in the
worker's watchdog, navigation, settings, the 360 panel, a home card, merge rules and
personal data."""

from __future__ import annotations

import time
from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from guanxi.core.jsonable import jsonable
from guanxi.core.privacy import Person

CONSUMER = "loyalty.orders"
ORDER_KINDS = ("order_placed", "order_refunded", "order_cancelled")
_last_release = 0.0


def on_events(events: list[Any]) -> None:
    """Orders from anywhere (API, import, webhooks, staff) earn points once; refunds and
    cancellations take them back."""
    from guanxi.customers.models import Order
    from guanxi.loyalty.referrals import referral_reward
    from guanxi.loyalty.services import points_earn_order, points_reverse_order

    wanted = [e for e in events if e.kind in ORDER_KINDS and e.order_id]
    orders = Order.objects.select_related("customer").in_bulk([e.order_id for e in wanted])
    for event in wanted:
        order = orders.get(event.order_id)
        if order is None:
            continue
        if event.kind == "order_placed":
            points_earn_order(order=order)
            referral_reward(order)
        else:
            points_reverse_order(actor=None, order=order)


def tick() -> int:
    """The watchdog check (every 5 s): read new order events; every 5 minutes, release
    reservations past their time."""
    global _last_release
    from guanxi.loyalty.reservations import reservations_expire
    from guanxi.timeline.cursors import consume

    for _batch in range(20):
        if not consume(CONSUMER, on_events, limit=200):
            break
    if time.monotonic() - _last_release >= 300:
        _last_release = time.monotonic()
        reservations_expire()
    return 0


def event_text(event: Any) -> str:
    data = event.data or {}
    texts = {
        "points_earned": gettext("%(points)s points earned"),
        "points_spent": gettext("%(points)s points spent"),
        "points_adjusted": gettext("Points adjusted by %(points)s: %(reason)s"),
        "points_reversed": gettext("%(points)s points taken back (order %(ref)s refunded)"),
        "points_expired": gettext("%(points)s points expired"),
        "member_tier_changed": gettext("Tier changed to %(tier)s (was %(previous)s)"),
        "coupon_issued": gettext("Coupon issued: %(template)s"),
        "coupon_redeemed": gettext("Coupon used: %(template)s, %(discount)s off"),
        "member_event_registered": gettext("On the waiting list for %(name)s")
        if data.get("state") == "waiting" else gettext("Registered for %(name)s"),
        "member_event_cancelled": gettext("Registration for %(name)s cancelled"),
        "member_event_attended": gettext("Attended %(name)s"),
    }
    values = {k: data.get(k, "") for k in ("points", "reason", "ref", "tier", "previous",
                                           "template", "discount", "name")}
    values["previous"] = values["previous"] or "-"
    return texts[event.kind] % values


def _export(person: Person) -> list[dict[str, Any]]:
    from guanxi.loyalty.models import Journal, Member, Referral

    member = Member.objects.filter(customer_id=person.customer_id).select_related(
        "tier").first()
    if member is None:
        return []
    return [jsonable({
        "tier": member.tier.name if member.tier else None, "balance": member.balance,
        "joined_at": member.joined_at, "referral_code": member.referral_code,
        "referred_by": Referral.objects.filter(referee_id=person.customer_id)
        .values_list("referrer_id", flat=True).first(),
        "movements": [{"kind": j.kind, "points": j.points, "at": j.created_at,
                       "reason": j.reason}
                      for j in Journal.objects.filter(member=member).order_by("pk")]})]


# Free text staff or a POS wrote about the person's points (a reason, a receipt number):
# cleared from the audit entries on erasure, like the person's own values.
FREE_TEXT = frozenset({"reason", "reference", "order_ref"})


def _blank(value: Any) -> Any:
    from guanxi.core.privacy import ERASED

    if isinstance(value, dict):
        return {k: ERASED if k in FREE_TEXT and v else _blank(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_blank(v) for v in value]
    return value


def _erase(person: Person) -> int:
    from django.db.models import Q

    from guanxi.audit.services import audit_redact
    from guanxi.loyalty.models import Member, Referral, Ticket

    deleted = int(Referral.objects.filter(Q(referrer_id=person.customer_id)
                                          | Q(referee_id=person.customer_id)).delete()[0])
    deleted += int(Ticket.objects.filter(customer_id=person.customer_id).delete()[0])
    deleted += int(Member.objects.filter(customer_id=person.customer_id).delete()[0])
    return deleted + audit_redact(customer_ids={person.customer_id, *person.other_ids},
                                  redact=_blank)


def _export_coupons(person: Person) -> list[dict[str, Any]]:
    from guanxi.loyalty.models import Coupon

    return [jsonable({"template": c.template.name, "state": c.state,
                      "issued_at": c.issued_at, "valid_until": c.valid_until,
                      "redeemed_at": c.redeemed_at})
            for c in Coupon.objects.filter(customer_id=person.customer_id)
            .select_related("template").order_by("pk")]


def _erase_coupons(person: Person) -> int:
    from guanxi.loyalty.models import Coupon

    return int(Coupon.objects.filter(customer_id=person.customer_id).delete()[0])


def _export_events(person: Person) -> list[dict[str, Any]]:
    from guanxi.loyalty.models import Registration

    return [jsonable({"event": r.event.name, "starts_at": r.event.starts_at,
                      "state": r.state, "registered_at": r.queued_at,
                      "checked_in_at": r.checked_in_at})
            for r in Registration.objects.filter(customer_id=person.customer_id)
            .select_related("event").order_by("pk")]


def _erase_events(person: Person) -> int:
    from guanxi.loyalty.models import Registration

    return int(Registration.objects.filter(customer_id=person.customer_id).delete()[0])


def _fold(survivor: Any, absorbed: Any) -> None:
    from guanxi.loyalty.services import members_fold

    members_fold(survivor, absorbed)


def register_loyalty() -> None:
    from guanxi.core.automation import ActionType, ConfigField, register_action_types
    from guanxi.core.lazy import lazy
    from guanxi.core.privacy import PersonalData, register_personal_data
    from guanxi.core.shell import (
        HomeCard,
        NavEntry,
        register_home_card,
        register_nav,
        register_settings_link,
    )
    from guanxi.core.watchdog import register_check
    from guanxi.customers.extensions import Panel, register_panel
    from guanxi.customers.merging import MergeRule, Strategy, register_merge_rule
    from guanxi.loyalty.models import Coupon, Member, Referral, Registration, Ticket
    from guanxi.loyalty.permissions import LoyaltyAction, register_loyalty_actions
    from guanxi.timeline.kinds import (
        INTERACTION,
        INTERNAL,
        SEGMENT,
        SYSTEM,
        EventKind,
        register_kinds,
    )

    register_loyalty_actions()
    own = frozenset({INTERNAL})
    points: dict[str, type] = {"points": int, "order_id": int, "ref": str, "reason": str,
                               "reference": str}
    coupon: dict[str, type] = {"coupon": int, "template": str, "valid_until": str,
                               "discount": str, "reference": str}
    happening: dict[str, type] = {"event": int, "name": str, "state": str, "source": str,
                                  "promoted": bool, "by": str, "points": int}
    kinds: list[tuple[str, Any, frozenset[str], dict[str, type]]] = [
             ("points_earned", _("Points earned"), own, points),
             ("points_spent", _("Points spent"), frozenset({INTERNAL, INTERACTION}), points),
             ("points_adjusted", _("Points adjusted"), own, points),
             ("points_reversed", _("Points taken back"), own, points),
             ("points_expired", _("Points expired"), frozenset({INTERNAL, SYSTEM}), points),
             ("member_tier_changed", _("Tier changed"), own,
              {"tier": str, "previous": str, "direction": str}),
             ("coupon_issued", _("Coupon issued"), own, coupon),
             ("coupon_redeemed", _("Coupon used"), frozenset({INTERNAL, INTERACTION}), coupon),
             ("member_event_registered", _("Registered for a member event"),
              frozenset({INTERNAL, INTERACTION, SEGMENT}), happening),
             ("member_event_cancelled", _("Member event registration cancelled"), own,
              happening),
             ("member_event_attended", _("Attended a member event"),
              frozenset({INTERNAL, INTERACTION, SEGMENT}), happening)]
    register_kinds([EventKind(name, label, flags, fields, strict=True, render=event_text,
                              app="loyalty", personal=frozenset({"reason", "reference"}))
                    for name, label, flags, fields in kinds])
    actions = "guanxi.loyalty.actions"
    register_action_types(
        ActionType("loyalty.award_points", _("Award points"), "loyalty",
                   lazy(f"{actions}:award_points"), LoyaltyAction.ADJUST,
                   (ConfigField("points", _("Points"), kind="integer"),
                    ConfigField("reason", _("Reason"), required=False))),
        ActionType("loyalty.birthday_points", _("Award the tier's birthday points"),
                   "loyalty", lazy(f"{actions}:tier_birthday_points"), LoyaltyAction.ADJUST,
                   (ConfigField("reason", _("Reason"), required=False),),
                   help=_("As many points as the member's tier gives on a birthday "
                          "(set on each tier).")),
        ActionType("loyalty.issue_coupon", _("Issue a coupon"), "loyalty",
                   lazy(f"{actions}:issue_coupon"), LoyaltyAction.WORK,
                   (ConfigField("template", _("Coupon"),
                                choices=lazy(f"{actions}:template_choices")),),
                   help=_("The coupon's code can go in the next message: "
                          "{{ coupon.code }}.")))
    register_check(tick, every=5.0)
    from guanxi.engagement.render import register_variables

    register_variables("member", {
        "member.tier": _("Loyalty tier"), "member.points": _("Points balance"),
        "member.expiring_points": _("Points expiring next"),
        "member.expiring_on": _("When those points expire")},
        lazy("guanxi.loyalty.selectors:template_variables"))
    register_variables("coupon", {
        "coupon.code": _("The customer's newest usable coupon code"),
        "coupon.name": _("That coupon's name"),
        "coupon.valid_until": _("Last day that coupon is valid")},
        lazy("guanxi.loyalty.selectors:coupon_variables"))
    register_nav(NavEntry("loyalty", _("Loyalty"), "loyalty:dashboard", LoyaltyAction.VIEW,
                          30, icon="award"))
    register_settings_link(NavEntry("loyalty", _("Loyalty: tiers, earning, rewards, coupons"),
                                    "loyalty:settings", LoyaltyAction.MANAGE, 55,
                                    icon="award"))
    register_panel(Panel("loyalty.member", "loyalty/_customer_panel.html",
                         lazy("guanxi.loyalty.selectors:customer_panel"), order=40))
    register_home_card(HomeCard("loyalty.approvals", "loyalty/_home_approvals.html",
                                lazy("guanxi.loyalty.selectors:home_approvals"),
                                LoyaltyAction.ADJUST, order=6))
    register_merge_rule(MergeRule(Member, Strategy.FOLD, fold=_fold))
    register_merge_rule(MergeRule(Coupon, Strategy.MOVE))
    # both registered for one event: the kept customer's registration stays
    register_merge_rule(MergeRule(Registration, Strategy.KEEP_SURVIVOR, key=("event_id",)))
    # whom the absorbed customer referred moves; who referred them: the kept customer's
    # own referrer stays
    register_merge_rule(MergeRule(Ticket, Strategy.MOVE))
    register_merge_rule(MergeRule(Referral, Strategy.MOVE, field="referrer"))
    register_merge_rule(MergeRule(Referral, Strategy.KEEP_SURVIVOR, field="referee"))
    register_personal_data(PersonalData(
        "loyalty.member", _("Membership and points"), "loyalty",
        {"balance": "record", "tier": "record", "movements": "record"},
        [_("Running the loyalty programme the customer joined")], _export, _erase))
    register_personal_data(PersonalData(
        "loyalty.coupons", _("Coupons"), "loyalty", {"template": "record", "state": "record"},
        [_("Running the loyalty programme the customer joined")], _export_coupons,
        _erase_coupons))
    register_personal_data(PersonalData(
        "loyalty.events", _("Member event registrations"), "loyalty",
        {"event": "record", "state": "behaviour", "checked_in_at": "behaviour"},
        [_("Running the loyalty programme the customer joined")], _export_events,
        _erase_events))
