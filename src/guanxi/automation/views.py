"""Pages of the automation app: the list, the editor (a step list), an automation's page
with its funnel, runs, "who would enter now" and a test run on one customer."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from guanxi.analytics.selectors import segment_list
from guanxi.automation import selectors, services
from guanxi.automation.datefields import field_choices
from guanxi.automation.definition import STEP_TYPES
from guanxi.automation.engine import dry_run
from guanxi.automation.models import Automation, AutomationStatus, Reentry, RunStatus
from guanxi.automation.permissions import AutomationAction
from guanxi.core.automation import action_types, trigger_types
from guanxi.core.errors import DomainError, FieldError
from guanxi.core.permissions import can, require
from guanxi.customers.selectors import customer_get, customer_search
from guanxi.timeline.kinds import kind_choices, kind_label


def outcome_label(code: str) -> str:
    """A step outcome or run status as people read it."""
    labels = {"done": _("done"), "skipped": _("skipped (done before)"), "waited": _("waited"),
              "yes": _("yes"), "no": _("no"), "holdout": _("holdout"),
              "event": _("the event came"), "timeout": _("timed out"), "exit": _("exit"),
              "would_do": _("would act"), "would_wait": _("would wait"),
              "would_wait_event": _("would wait for the event (the test takes the "
                                    "timeout path)")}
    if code.startswith("path_"):
        return _("path %(n)s") % {"n": code[5:]}
    if code in RunStatus.values:
        return str(RunStatus(code).label)
    return str(labels.get(code, code))


def _fields(fields: Any) -> list[dict[str, Any]]:
    return [{"name": f.name, "label": str(f.label), "kind": f.kind, "required": f.required,
             "help": str(f.help),
             "choices": [[str(v), str(lbl)] for v, lbl in f.choices()] if f.choices else None}
            for f in fields]


def _with_values(fields: list[dict[str, Any]], config: dict[str, Any]) -> list[dict[str, Any]]:
    """The fields with the value each form control shows (JSON for a list)."""
    for f in fields:
        value = config.get(f["name"])
        if f["kind"] == "list":
            f["value"] = json.dumps(value, ensure_ascii=False) if value else ""
        else:
            f["value"] = "" if value is None else str(value)
        f["checked"] = bool(value)
    return fields


def _editor_context(request: HttpRequest, automation: Automation | None,
                    values: dict[str, Any], errors: list[Any]) -> dict[str, Any]:
    actor = request.user
    segments = [{"id": s.pk, "name": s.name, "rules": s.rules}
                for s in segment_list(actor=actor)]
    return {
        "automation": automation, "values": values, "errors": errors,
        "reentry_choices": Reentry.choices,
        "triggers": [{"name": t.name, "label": str(t.label), "help": str(t.help),
                      "fields": _with_values(_fields(t.fields),
                                             values["trigger_config"]
                                             if t.name == values["trigger"] else {})}
                     for t in trigger_types()],
        "editor": {
            "steps": values.get("steps") or [],
            "actions": [{"name": a.name, "label": str(a.label), "help": str(a.help),
                         "fields": _fields(a.fields)} for a in action_types(actor)],
            "types": {k: str(v) for k, v in STEP_TYPES.items()},
            "kinds": [[k, str(label)] for k, label in kind_choices()],
            "segments": segments,
            "dateFields": field_choices(),
            "texts": {
                "add": _("Add a step"), "remove": _("Remove"), "up": _("Move up"),
                "down": _("Move down"), "next": _("the next step"), "exit": _("Exit"),
                "else": _("If not, go to"), "timeout": _("If it does not come, go to"),
                "goto": _("Then go to"), "percent": _("Percent"), "days": _("Days"),
                "hours": _("Hours"), "minutes": _("Minutes"), "time": _("Time (HH:MM)"),
                "until": _("Wait"), "duration": _("for a time"), "untilTime": _("until a time"),
                "untilBirthday": _("until the birthday"),
                "untilField": _("until a date field"), "dateField": _("Date field"),
                "offset": _("Days before (−) / after (+)"),
                "weekdays": _("Weekdays (0 = Monday, comma separated; empty = any)"),
                "workday": _("Only on working days"), "condition": _("Condition"),
                "segment": _("Customers of segment"), "customRules": _("Rules (JSON)"),
                "event": _("Event"), "path": _("Path"), "holdout": _("Holdout (the rest)"),
                "addPath": _("Add a path"), "step": _("Step"), "choose": _("Choose…"),
                "action": _("Action"), "noSteps": _("No steps yet: add the first one."),
            },
        },
        "segments": segments,
    }


def _posted(request: HttpRequest) -> tuple[dict[str, Any], list[FieldError]]:
    post = request.POST
    errors: list[FieldError] = []
    trigger = post.get("trigger", "")
    config: dict[str, Any] = {}
    spec = next((t for t in trigger_types() if t.name == trigger), None)
    for f in spec.fields if spec else ():
        raw = post.get(f"tc_{f.name}", "").strip()
        if f.kind == "boolean":
            if raw:
                config[f.name] = True
            continue
        if raw == "":
            continue
        if f.kind == "integer":
            try:
                config[f.name] = int(raw)
            except ValueError:
                errors.append(FieldError(f"trigger_config.{f.name}", _("Give a whole number"),
                                         raw))
        elif f.kind == "list":
            try:
                config[f.name] = json.loads(raw)
            except json.JSONDecodeError:
                errors.append(FieldError(f"trigger_config.{f.name}",
                                         _("Give a JSON list"), raw))
        else:
            config[f.name] = raw
    values: dict[str, Any] = {
        "name": post.get("name", ""), "description": post.get("description", ""),
        "trigger": trigger, "trigger_config": config, "reentry": post.get("reentry", "never")}
    try:
        values["reentry_days"] = int(post.get("reentry_days") or 0)
    except ValueError:
        values["reentry_days"] = 0
        errors.append(FieldError("reentry_days", _("Give a whole number"),
                                 post.get("reentry_days")))
    for name in ("conditions", "goal", "steps"):
        raw = post.get(name, "").strip()
        try:
            values[name] = json.loads(raw) if raw else ([] if name == "steps" else {})
        except json.JSONDecodeError:
            values[name] = [] if name == "steps" else {}
            errors.append(FieldError(name, _("Could not be read as JSON"), raw[:100]))
    return values, errors


def _values(automation: Automation | None) -> dict[str, Any]:
    if automation is None:
        return {"name": "", "description": "", "trigger": "timeline.event",
                "trigger_config": {}, "conditions": {}, "goal": {}, "reentry": "never",
                "reentry_days": 0, "steps": []}
    return {f: getattr(automation, f) for f in (
        "name", "description", "trigger", "trigger_config", "conditions", "goal", "reentry",
        "reentry_days", "steps")}


@login_required
def automation_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    if status not in AutomationStatus.values:
        status = ""
    automations = selectors.automation_list(actor=request.user, status=status)
    labels = {t.name: t.label for t in trigger_types()}
    return render(request, "automation/list.html", {
        "automations": [(a, labels.get(a.trigger, a.trigger)) for a in automations],
        "status": status, "statuses": AutomationStatus.choices,
        "can_manage": can(request.user, AutomationAction.MANAGE)})


@login_required
def automation_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    require(request.user, AutomationAction.MANAGE)
    automation = selectors.automation_get(actor=request.user, automation_id=pk) if pk else None
    values = _values(automation)
    errors: list[Any] = []
    if request.method == "POST":
        values, errors = _posted(request)
        if not errors:
            try:
                automation = services.automation_save(actor=request.user,
                                                      automation=automation, **values)
            except DomainError as exc:
                errors = exc.errors or [FieldError("", exc.message)]
            else:
                if request.POST.get("publish"):
                    services.automation_publish(actor=request.user, automation=automation)
                    messages.success(request, _("Automation saved and published."))
                else:
                    messages.success(request, _("Draft saved. Publish it to make it run."))
                return redirect("automation:detail", pk=automation.pk)
    return render(request, "automation/edit.html",
                  _editor_context(request, automation, values, errors),
                  status=422 if errors else 200)


def _funnel(automation: Automation) -> dict[str, Any]:
    counts = selectors.step_counts(automation)
    steps = (automation.live.steps if automation.live else automation.steps) or []
    labels, values = [], []
    for i, step in enumerate(steps):
        outcomes = counts.get(step["id"], {})
        labels.append(f"{i + 1}. {STEP_TYPES.get(step['type'], step['type'])}")
        values.append(sum(outcomes.values()))
    return {"tooltip": {"trigger": "axis"},
            "grid": {"containLabel": True, "left": 8, "right": 40},
            "xAxis": {"type": "value", "minInterval": 1},
            "yAxis": {"type": "category", "data": labels, "inverse": True},
            "series": [{"type": "bar", "data": values, "label": {"show": True,
                                                                 "position": "right"}}]}


def _describe(step: dict[str, Any]) -> str:
    kind = step.get("type")
    if kind == "action":
        found = next((a for a in action_types() if a.name == step.get("action")), None)
        if found is None:
            return str(step.get("action"))
        config = step.get("config") or {}
        parts = []
        for f in found.fields:
            if f.name not in config:
                continue
            value = config[f.name]
            if f.choices is not None:
                value = dict((str(v), lbl) for v, lbl in f.choices()).get(str(value), value)
            elif isinstance(value, bool):
                value = _("yes") if value else _("no")
            parts.append(f"{f.label}: {value}")
        return f"{found.label} ({', '.join(parts)})" if parts else str(found.label)
    if kind == "wait":
        if step.get("until") == "time":
            return _("until %(time)s") % {"time": step.get("time")}
        if step.get("until") == "birthday":
            return _("until the birthday, %(time)s") % {"time": step.get("time")}
        return _("%(d)s d %(h)s h %(m)s min") % {"d": step.get("days", 0),
                                                  "h": step.get("hours", 0),
                                                  "m": step.get("minutes", 0)}
    if kind == "wait_event":
        return _("%(kind)s, at most %(days)s days") % {"kind": kind_label(step["kind"]),
                                                       "days": step.get("days")}
    if kind == "split":
        return " / ".join(f"{p.get('percent')}%" for p in step.get("paths", []))
    return ""


@login_required
def automation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    automation = selectors.automation_get(actor=request.user, automation_id=pk)
    counts = selectors.step_counts(automation)
    steps = (automation.live.steps if automation.live else automation.steps) or []
    rows = [{"n": i + 1, "step": s, "type": STEP_TYPES.get(s["type"], s["type"]),
             "text": _describe(s),
             "outcomes": [(outcome_label(o), n) for o, n in counts.get(s["id"], {}).items()]}
            for i, s in enumerate(steps)]
    count, sample = selectors.who_would_enter(actor=request.user,
                                              conditions=automation.conditions)
    return render(request, "automation/detail.html", {
        "automation": automation, "rows": rows, "funnel": _funnel(automation),
        "statuses": [(outcome_label(st), n)
                     for st, n in selectors.status_counts(automation).items()],
        "runs": selectors.runs_recent(actor=request.user, automation=automation),
        "would_enter": count, "sample": sample,
        "trigger": next((t.label for t in trigger_types() if t.name == automation.trigger),
                        automation.trigger),
        "unpublished": services.has_unpublished_changes(automation),
        "can_manage": can(request.user, AutomationAction.MANAGE)})


@login_required
@require_POST
def automation_state(request: HttpRequest, pk: int, verb: str) -> HttpResponse:
    automation = selectors.automation_get(actor=request.user, automation_id=pk)
    act = {"publish": services.automation_publish, "pause": services.automation_pause,
           "resume": services.automation_resume, "archive": services.automation_archive}
    if verb not in act:
        return HttpResponse(status=404)
    try:
        act[verb](actor=request.user, automation=automation)
    except DomainError as exc:
        messages.error(request, exc.for_people())
    else:
        messages.success(request, {"publish": _("Published: new customers enter this "
                                                "version."),
                                   "pause": _("Paused: no one enters, runs hold."),
                                   "resume": _("Resumed."),
                                   "archive": _("Archived.")}[verb])
    return redirect("automation:detail", pk=pk)


@login_required
def automation_test(request: HttpRequest, pk: int) -> HttpResponse:
    """A test run on one customer (no side effects), or the customers matching a search
    to pick one from."""
    automation = selectors.automation_get(actor=request.user, automation_id=pk)
    customer_id = request.GET.get("customer", "")
    context: dict[str, Any] = {"automation": automation}
    if customer_id.isdigit():
        customer = customer_get(actor=request.user, customer_id=int(customer_id))
        from guanxi.automation.models import AutomationVersion

        version = automation.live or AutomationVersion(
            automation=automation, number=0, **{f: getattr(automation, f) for f in
                                                services.DEFINITION})
        if not version.steps:
            context["error"] = _("Add steps first.")
        else:
            enters = bool(selectors.who_would_enter_one(automation=automation,
                                                        customer=customer))
            context.update({"customer": customer, "enters": enters,
                            "trace": [{**t, "type_label": STEP_TYPES.get(t["type"], ""),
                                       "outcome_label": outcome_label(t["outcome"])}
                                      for t in dry_run(version, customer)]})
    else:
        query = request.GET.get("q", "").strip()
        context["matches"] = customer_search(actor=request.user, q=query, limit=10).items \
            if query else []
        context["q"] = query
    return render(request, "automation/_test.html", context)
