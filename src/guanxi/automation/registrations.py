"""What the automation app adds to the platform's registries (called from
AutomationConfig.ready()): its permissions, event kinds, triggers and actions, work
queues and watchdog tick, navigation, the 360 panel, merge rules and personal data."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from guanxi.automation.calendar import FESTIVALS
from guanxi.core.permissions import Actor, can


def date_choices() -> list[tuple[str, str]]:
    return [("birthday", str(_("Birthday (solar or lunar, as the customer keeps it)"))),
            ("first_purchase", str(_("Anniversary of the first purchase"))),
            ("field", str(_("A date field (N days before or after it)"))),
            ("festival", str(_("A festival"))),
            ("holiday", str(_("First day of a statutory holiday")))]


def festival_choices() -> list[tuple[str, str]]:
    return [(f.code, str(f.label)) for f in FESTIVALS]


def every_choices() -> list[tuple[str, str]]:
    return [("day", str(_("Every day"))), ("week", str(_("Every week"))),
            ("month", str(_("Every month")))]


def automation_action_text(event: Any) -> str:
    from guanxi.core.automation import action_type

    data = event.data or {}
    try:
        label = str(action_type(str(data.get("action"))).label)
    except KeyError:
        label = str(data.get("action", ""))
    return gettext("Automation “%(name)s”: %(action)s") % {"name": data.get("name", ""),
                                                           "action": label}


def runs_panel(actor: Actor, customer_id: int) -> dict[str, Any] | None:
    from guanxi.automation.permissions import AutomationAction
    from guanxi.automation.selectors import runs_of_customer

    if not can(actor, AutomationAction.VIEW):
        return None
    runs = runs_of_customer(actor=actor, customer_id=customer_id)
    return {"runs": runs} if runs else None


def register_automation() -> None:
    from guanxi.automation.models import Run
    from guanxi.automation.permissions import AutomationAction, register_automation_actions
    from guanxi.core.automation import (
        ActionType,
        ConfigField,
        TriggerType,
        register_action_types,
        register_trigger_types,
    )
    from guanxi.core.lazy import lazy
    from guanxi.core.shell import NavEntry, register_nav
    from guanxi.core.watchdog import register_check
    from guanxi.core.work import register_handler
    from guanxi.customers.extensions import Panel, register_panel
    from guanxi.customers.merging import MergeRule, Strategy, register_merge_rule
    from guanxi.customers.permissions import CustomerAction
    from guanxi.timeline.kinds import INTERNAL, SYSTEM, EventKind, register_kinds

    register_automation_actions()
    register_kinds([
        EventKind("automation_action", _("Automation step"), frozenset({INTERNAL, SYSTEM}),
                  {"automation": int, "name": str, "step": str, "action": str}, strict=True,
                  render=automation_action_text, app="automation"),
        EventKind("automation_note", _("Note by an automation"), frozenset({INTERNAL, SYSTEM}),
                  {}, strict=True, app="automation"),
    ])
    time = ConfigField("time", _("Time of day (HH:MM)"), help=_("Business time zone"))
    register_trigger_types(
        TriggerType("automation.date", _("A date"), "automation",
                    (ConfigField("date", _("Which date"), choices=date_choices),
                     ConfigField("festival", _("Festival"), required=False,
                                 choices=festival_choices),
                     ConfigField("field", _("Date field"), required=False,
                                 choices=lazy("guanxi.automation.datefields:all_choices")),
                     ConfigField("offset_days", _("Days before (−) or after (+)"), "integer",
                                 required=False),
                     time),
                    help=_("Checked once a day; customers enter at the time of day given.")),
        TriggerType("automation.schedule", _("A schedule"), "automation",
                    (ConfigField("every", _("Repeat"), choices=every_choices),
                     ConfigField("weekday", _("Weekday (0 = Monday)"), "integer",
                                 required=False),
                     ConfigField("day", _("Day of the month"), "integer", required=False),
                     ConfigField("workdays_only", _("Only on working days"), "boolean",
                                 required=False),
                     time),
                    help=_("Everyone who meets the entry conditions enters at each time.")))
    actions = "guanxi.automation.actions"
    register_action_types(
        ActionType("automation.set_field", _("Set a field"), "automation",
                   lazy(f"{actions}:set_field"), CustomerAction.CUSTOMER_CHANGE,
                   (ConfigField("field", _("Field"), choices=lazy(f"{actions}:settable_fields")),
                    ConfigField("value", _("Value")))),
        ActionType("automation.assign_owner", _("Assign an owner"), "automation",
                   lazy(f"{actions}:assign_owner"), CustomerAction.CUSTOMER_CHANGE,
                   (ConfigField("mode", _("Rule"), choices=lazy(f"{actions}:mode_choices")),
                    ConfigField("team", _("Team"), required=False,
                                choices=lazy(f"{actions}:team_choices")),
                    ConfigField("only_unowned", _("Only customers without an owner"),
                                "boolean", required=False)),
                   help=_("Round robin skips staff who are inactive; use an if/else step "
                          "before it to assign by region.")),
        ActionType("automation.log_note", _("Log a note"), "automation",
                   lazy(f"{actions}:log_note"), CustomerAction.INTERACTION_LOG,
                   (ConfigField("text", _("Note")),)))
    engine = "guanxi.automation.engine"
    triggers = "guanxi.automation.triggers"
    register_handler("automation.step", lazy(f"{engine}:step_work"), lease_s=60,
                     max_attempts=8, backoff_s=10)
    register_handler("automation.scan", lazy(f"{triggers}:scan_work"), atomic=False,
                     lease_s=120, max_attempts=3)
    register_check(lazy(f"{triggers}:tick"), every=1.0)
    register_nav(NavEntry("automation", _("Automations"), "automation:list",
                          AutomationAction.VIEW, 35, icon="bolt"))
    register_panel(Panel("automation.runs", "automation/_customer_runs.html", runs_panel,
                         order=60))
    # A customer already in an automation keeps their run; the absorbed customer's runs
    # of other automations move to them.
    register_merge_rule(MergeRule(Run, Strategy.KEEP_SURVIVOR, key=("automation_id",)))
    from guanxi.automation.privacy import register_automation_personal_data

    register_automation_personal_data()
