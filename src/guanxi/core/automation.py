"""What an automation can start from (trigger types) and what it can do (action types),
registered by the apps that own them in AppConfig.ready(). The automation engine and its
editor iterate these registries; no app lists another's triggers or actions.

An action type's `run` is called by the engine as
`run(customer_id=..., config=..., key=...)` and returns what it did (a small dict for the
run's history). `key` is unique per (automation version, customer, step, occurrence): an
action must do nothing the second time it gets the same key, so a retried step never
acts twice. `run` may be a lazy "module:function" target (core.lazy), so registering an
action does not import the module that carries it out."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext as _

from guanxi.core.permissions import can

Label = str | Promise
KINDS: dict[str, type | tuple[type, ...]] = {
    "text": str, "integer": int, "number": (int, float), "boolean": bool, "list": list,
    "object": dict}


@dataclass(frozen=True)
class ConfigField:
    """One setting of a trigger or an action, as the editor's form shows it. `choices`,
    when given, returns the allowed (value, label) pairs at the time of asking (tags,
    segments, event kinds)."""

    name: str
    label: Label
    kind: str = "text"  # one of KINDS
    required: bool = True
    choices: Callable[[], Sequence[tuple[str, Label]]] | None = None
    help: Label = ""


@dataclass(frozen=True)
class TriggerType:
    name: str          # "timeline.event", "analytics.segment_joined", …
    label: Label
    app: str
    fields: tuple[ConfigField, ...] = ()
    help: Label = ""


@dataclass(frozen=True)
class ActionType:
    name: str          # "customers.tag_add", …
    label: Label
    app: str
    run: Callable[..., Mapping[str, Any]]
    action: str        # the permission a user needs to put this action in an automation
    fields: tuple[ConfigField, ...] = ()
    help: Label = ""


_TRIGGERS: dict[str, TriggerType] = {}
_ACTIONS: dict[str, ActionType] = {}


def register_trigger_types(*types: TriggerType) -> None:
    for t in types:
        _check_fields(t.name, t.fields)
        _TRIGGERS[t.name] = t


def register_action_types(*types: ActionType) -> None:
    for t in types:
        _check_fields(t.name, t.fields)
        _ACTIONS[t.name] = t


def _check_fields(owner: str, fields: Sequence[ConfigField]) -> None:
    for f in fields:
        if f.kind not in KINDS:
            raise ValueError(f"{owner}.{f.name}: unknown field kind {f.kind!r}")


def trigger_types() -> list[TriggerType]:
    return sorted(_TRIGGERS.values(), key=lambda t: t.name)


def action_types(actor: Any = None) -> list[ActionType]:
    """Every action type, or with `actor` those the actor may put in an automation."""
    return sorted((t for t in _ACTIONS.values() if actor is None or can(actor, t.action)),
                  key=lambda t: t.name)


def trigger_type(name: str) -> TriggerType:
    return _TRIGGERS[name]


def action_type(name: str) -> ActionType:
    return _ACTIONS[name]


def config_errors(fields: Sequence[ConfigField], config: Mapping[str, Any]
                  ) -> list[tuple[str, str]]:
    """(field, reason) for each setting that is missing, unknown, of the wrong kind or not
    among its choices."""
    errors: list[tuple[str, str]] = []
    known = {f.name: f for f in fields}
    for name in config:
        if name not in known:
            errors.append((name, _("Unknown setting")))
    for f in fields:
        if f.name not in config or config[f.name] in (None, ""):
            if f.required:
                errors.append((f.name, _("This setting is required")))
            continue
        value = config[f.name]
        if (isinstance(value, bool) and f.kind in ("integer", "number")) \
                or not isinstance(value, KINDS[f.kind]):
            errors.append((f.name, _("Expected %(kind)s") % {"kind": f.kind}))
        elif f.choices is not None and str(value) not in {str(v) for v, _l in f.choices()}:
            errors.append((f.name, _("Not one of the choices")))
    return errors
