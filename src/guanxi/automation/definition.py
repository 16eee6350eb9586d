"""What an automation is made of, checked before it is saved or published: its trigger
and settings, entry conditions and goal (segment rule trees, compiled by
analytics.segments), and the steps. Every error names its place (`steps.2.config.tag`).

Steps are a list run top to bottom; a step may jump forward (never back, so a run always
ends) to another step's id, or to "exit":

    {"id": "s1", "type": "action", "action": "customers.tag_add", "config": {"tag": "新客"}}
    {"id": "s2", "type": "wait", "days": 3, "hours": 0, "minutes": 0}
    {"id": "s3", "type": "wait", "until": "time", "time": "09:00", "weekdays": [0, 1, 2, 3, 4],
                 "workday": true}          # next such time (business time zone)
    {"id": "s4", "type": "wait", "until": "birthday", "offset_days": -1, "time": "09:00"}
    {"id": "s4b", "type": "wait", "until": "field", "field": "attributes.contract_end",
                  "offset_days": -30, "time": "10:00"}   # 30 days before that date
    {"id": "s5", "type": "branch", "rules": {...}, "else": "s7"}   # yes: the next step
    {"id": "s6", "type": "split", "paths": [{"percent": 50}, {"percent": 40, "goto": "s8"}]}
                 # the percentages left over (here 10) are the holdout: no actions at all
    {"id": "s7", "type": "wait_event", "kind": "order_placed", "days": 7, "timeout": "exit"}
    {"id": "s8", "type": "exit"}
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guanxi.analytics.segments import compile_rules
from guanxi.automation.datefields import is_date_field
from guanxi.core.automation import action_type, config_errors, trigger_type
from guanxi.core.errors import FieldError, InvalidInput
from guanxi.core.permissions import Actor, can
from guanxi.timeline.kinds import get_kind, is_custom

STEP_TYPES = {
    "action": gettext_lazy("Action"), "wait": gettext_lazy("Wait"),
    "branch": gettext_lazy("If / else"), "split": gettext_lazy("Random split"),
    "wait_event": gettext_lazy("Wait for an event"), "exit": gettext_lazy("Exit"),
}
EVENT_OPERATORS = ("equals", "not_equals", "gte", "lte", "gt", "lt", "in", "contains")
MAX_STEPS = 50
MAX_WAIT_DAYS = 400
_ID = re.compile(r"^[A-Za-z0-9_-]{1,20}$")
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _rules(tree: Any, where: str, errors: list[FieldError]) -> None:
    if tree in (None, {}):
        return
    try:
        compile_rules(tree, where)
    except InvalidInput as exc:
        errors.extend(exc.errors)


def event_condition_errors(conditions: Any, where: str) -> list[FieldError]:
    """Conditions on an event's data: [{"field": "amount", "operator": "gte", "value": 500}]."""
    errors: list[FieldError] = []
    if conditions in (None, ""):
        return errors
    if not isinstance(conditions, list) or len(conditions) > 20:
        return [FieldError(where, _("Give a list of at most 20 conditions"), conditions)]
    for i, c in enumerate(conditions):
        at = f"{where}.{i}"
        if not isinstance(c, dict) or set(c) != {"field", "operator", "value"}:
            errors.append(FieldError(at, _("A condition has a field, an operator and a value"),
                                     c))
            continue
        if not isinstance(c["field"], str) or not re.fullmatch(r"[A-Za-z0-9_.]{1,64}",
                                                               c["field"]):
            errors.append(FieldError(f"{at}.field", _("Give the name of a data field"),
                                     c["field"]))
        if c["operator"] not in EVENT_OPERATORS:
            errors.append(FieldError(f"{at}.operator", _("Choose one of: %(choices)s")
                                     % {"choices": ", ".join(EVENT_OPERATORS)}, c["operator"]))
        elif c["operator"] in ("gte", "lte", "gt", "lt") and (
                isinstance(c["value"], bool) or not isinstance(c["value"], int | float)):
            errors.append(FieldError(f"{at}.value", _("Give a number"), c["value"]))
        elif c["operator"] == "in" and not isinstance(c["value"], list):
            errors.append(FieldError(f"{at}.value", _("Give a list of values"), c["value"]))
    return errors


def _number(step: Mapping[str, Any], name: str, where: str, errors: list[FieldError],
            high: int) -> int:
    value = step.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
        errors.append(FieldError(f"{where}.{name}", _("Give a whole number from 0 to %(n)s")
                                 % {"n": high}, value))
        return 0
    return value


def _target(value: Any, where: str, later: set[str], errors: list[FieldError],
            required: bool = True) -> None:
    if value in (None, "") and not required:
        return
    if value != "exit" and value not in later:
        errors.append(FieldError(where, _("Choose a later step or exit (steps can only "
                                          "jump forward)"), value))


def _step_errors(step: Any, where: str, later: set[str], actor: Actor) -> list[FieldError]:
    errors: list[FieldError] = []
    kind = step.get("type")
    if kind == "action":
        name = step.get("action")
        try:
            spec = action_type(str(name))
        except KeyError:
            return [FieldError(f"{where}.action", _("Unknown action"), name)]
        if actor is not None and not can(actor, spec.action):
            errors.append(FieldError(f"{where}.action", _("You may not use this action"), name))
        config = step.get("config", {})
        if not isinstance(config, dict):
            return [*errors, FieldError(f"{where}.config", _("Give the action's settings"))]
        errors += [FieldError(f"{where}.config.{f}", m, config.get(f))
                   for f, m in config_errors(spec.fields, config)]
    elif kind == "wait":
        until = step.get("until", "")
        if until == "":
            total = (_number(step, "days", where, errors, MAX_WAIT_DAYS) * 1440
                     + _number(step, "hours", where, errors, 23) * 60
                     + _number(step, "minutes", where, errors, 59))
            if not errors and total == 0:
                errors.append(FieldError(f"{where}.days", _("Wait at least a minute")))
        elif until in ("time", "birthday", "field"):
            if not _TIME.match(str(step.get("time", ""))):
                errors.append(FieldError(f"{where}.time", _("Give a time as HH:MM"),
                                         step.get("time")))
            if until == "time":
                days = step.get("weekdays", [])
                if not isinstance(days, list) or any(
                        isinstance(d, bool) or d not in range(7) for d in days):
                    errors.append(FieldError(f"{where}.weekdays",
                                             _("Give weekdays as numbers, 0 = Monday"), days))
            else:
                if until == "field" and not is_date_field(step.get("field")):
                    errors.append(FieldError(f"{where}.field", _(
                        "Give a date field: customer_since, first_purchase, last_purchase "
                        "or attributes.<name>"), step.get("field")))
                limit = 60 if until == "birthday" else MAX_WAIT_DAYS
                offset = step.get("offset_days", 0)
                if isinstance(offset, bool) or not isinstance(offset, int) \
                        or not -limit <= offset <= limit:
                    errors.append(FieldError(
                        f"{where}.offset_days",
                        _("Give a whole number from -%(n)s to %(n)s") % {"n": limit}, offset))
        else:
            errors.append(FieldError(f"{where}.until", _("Wait a duration, until a time, "
                                                         "the birthday or a date field"),
                                     until))
    elif kind == "branch":
        if step.get("rules") in (None, {}):
            errors.append(FieldError(f"{where}.rules", _("Give the condition")))
        _rules(step.get("rules"), f"{where}.rules", errors)
        _target(step.get("else"), f"{where}.else", later, errors)
    elif kind == "split":
        paths = step.get("paths")
        if not isinstance(paths, list) or not 1 <= len(paths) <= 5:
            return [FieldError(f"{where}.paths", _("Give 1 to 5 paths"), paths)]
        total = 0
        for i, path in enumerate(paths):
            if not isinstance(path, dict):
                errors.append(FieldError(f"{where}.paths.{i}", _("A path has a percentage")))
                continue
            total += _number(path, "percent", f"{where}.paths.{i}", errors, 100)
            _target(path.get("goto"), f"{where}.paths.{i}.goto", later, errors, required=False)
        if total > 100:
            errors.append(FieldError(f"{where}.paths", _("The percentages add up to more "
                                                         "than 100"), total))
    elif kind == "wait_event":
        if get_kind(str(step.get("kind"))) is None and not is_custom(str(step.get("kind"))):
            errors.append(FieldError(f"{where}.kind", _("Unknown event kind"), step.get("kind")))
        days = _number(step, "days", where, errors, MAX_WAIT_DAYS)
        if not errors and days == 0:
            errors.append(FieldError(f"{where}.days", _("Wait at least a day")))
        _target(step.get("timeout"), f"{where}.timeout", later, errors)
    elif kind != "exit":
        errors.append(FieldError(f"{where}.type", _("Choose one of: %(choices)s")
                                 % {"choices": ", ".join(STEP_TYPES)}, kind))
    return errors


def definition_errors(*, trigger: str, trigger_config: Any, conditions: Any, steps: Any,
                      goal: Any, actor: Actor = None) -> list[FieldError]:
    """Everything wrong with a definition (empty when it can be published)."""
    errors: list[FieldError] = []
    try:
        ttype = trigger_type(trigger)
    except KeyError:
        errors.append(FieldError("trigger", _("Unknown trigger"), trigger))
    else:
        if not isinstance(trigger_config, dict):
            errors.append(FieldError("trigger_config", _("Give the trigger's settings")))
        else:
            problems = config_errors(ttype.fields, trigger_config)
            if trigger == "timeline.event" and is_custom(str(trigger_config.get("kind"))):
                problems = [(f, m) for f, m in problems if f != "kind"]  # another system's
            errors += [FieldError(f"trigger_config.{f}", m, trigger_config.get(f))
                       for f, m in problems]
            if trigger == "automation.date" and trigger_config.get("date") == "field" \
                    and not trigger_config.get("field"):
                errors.append(FieldError("trigger_config.field", _("Choose the date field")))
            if trigger == "timeline.event":
                errors += event_condition_errors(trigger_config.get("conditions"),
                                                 "trigger_config.conditions")
    _rules(conditions, "conditions", errors)
    _rules(goal, "goal", errors)
    if not isinstance(steps, list) or not 1 <= len(steps) <= MAX_STEPS:
        errors.append(FieldError("steps", _("Give 1 to %(n)s steps") % {"n": MAX_STEPS}))
        return errors
    ids = [s.get("id") if isinstance(s, dict) else None for s in steps]
    for i, step in enumerate(steps):
        where = f"steps.{i}"
        if not isinstance(step, dict):
            errors.append(FieldError(where, _("A step is an object with a type")))
            continue
        if not isinstance(step.get("id"), str) or not _ID.match(step["id"]):
            errors.append(FieldError(f"{where}.id", _("Give the step an id (letters, digits, "
                                                      "- or _)"), step.get("id")))
        elif ids.count(step["id"]) > 1 or step["id"] == "exit":
            errors.append(FieldError(f"{where}.id", _("Two steps have this id"), step["id"]))
        later = {x for x in ids[i + 1:] if isinstance(x, str)}
        errors += _step_errors(step, where, later, actor)
    return errors


def check_definition(**definition: Any) -> None:
    if errors := definition_errors(**definition):
        raise InvalidInput(errors)
