"""The demo's automations (the demo command loads them once): a welcome series, a
birthday greeting that follows each customer's calendar (solar or lunar), a dormant
win-back with a goal, and an assignment rule for new web leads."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from guanxi.automation.models import Automation
from guanxi.automation.services import automation_publish, automation_save
from guanxi.core.permissions import Actor


def _definitions() -> list[dict[str, Any]]:
    bought_recently = {"field": "event", "operator": "within_days",
                       "value": {"kind": "order_placed", "days": 7}}
    return [
        {"name": _("Welcome series"), "trigger": "timeline.event",
         "trigger_config": {"kind": "customer_created"},
         "description": _("Tag new customers, then check in with them three days later."),
         "steps": [
             {"id": "tag", "type": "action", "action": "customers.tag_add",
              "config": {"tag": _("new customer")}},
             {"id": "wait", "type": "wait", "days": 3},
             {"id": "morning", "type": "wait", "until": "time", "time": "10:00",
              "workday": True},
             {"id": "note", "type": "action", "action": "automation.log_note",
              "config": {"text": _("Welcome call due: ask how the first order went.")}}]},
        {"name": _("Birthday greeting"), "trigger": "automation.date",
         "trigger_config": {"date": "birthday", "time": "09:00"}, "reentry": "always",
         "description": _("On each customer's birthday — the lunar date for those who "
                          "keep it — at 9:00."),
         "steps": [
             {"id": "tag", "type": "action", "action": "customers.tag_add",
              "config": {"tag": _("birthday this month")}},
             {"id": "note", "type": "action", "action": "automation.log_note",
              "config": {"text": _("Birthday today: send greetings and the birthday "
                                   "coupon.")}},
             {"id": "wait", "type": "wait", "days": 30},
             {"id": "untag", "type": "action", "action": "customers.tag_remove",
              "config": {"tag": _("birthday this month")}}]},
        {"name": _("Dormant win-back"), "trigger": "timeline.event",
         "trigger_config": {"kind": "stage_changed",
                            "conditions": [{"field": "to", "operator": "equals",
                                            "value": "dormant"}]},
         "goal": bought_recently, "reentry": "after", "reentry_days": 90,
         "description": _("When a customer turns dormant: a win-back offer, with one in ten "
                          "held out to measure it; leaves as soon as they buy."),
         "steps": [
             {"id": "split", "type": "split", "paths": [{"percent": 90}]},
             {"id": "tag", "type": "action", "action": "customers.tag_add",
              "config": {"tag": _("win-back")}},
             {"id": "wait", "type": "wait_event", "kind": "order_placed", "days": 14,
              "timeout": "call"},
             {"id": "done", "type": "exit"},
             {"id": "call", "type": "action", "action": "automation.log_note",
              "config": {"text": _("No order 14 days after the win-back offer: call.")}}]},
        {"name": _("Assign new web leads"), "trigger": "timeline.event",
         "trigger_config": {"kind": "customer_created"},
         "conditions": {"field": "source", "operator": "equals", "value": "web"},
         "description": _("New customers from the website go to the sales team in turn "
                          "(people who are away are skipped)."),
         "steps": [
             {"id": "assign", "type": "action", "action": "automation.assign_owner",
              "config": {"mode": "round_robin", "only_unowned": True}}]},
    ]


def demo_automations(*, actor: Actor) -> int:
    """Create and publish the demo automations (those of a name that exists are left)."""
    made = 0
    for definition in _definitions():
        if Automation.objects.filter(name=definition["name"]).exists():
            continue
        automation = automation_save(actor=actor, **definition)
        automation_publish(actor=actor, automation=automation)
        made += 1
    return made
