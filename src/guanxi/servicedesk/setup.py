"""The desk's set-up, written by managers from the settings page: the business calendar
and desk rules, queues, categories with their keywords, agents (availability, load cap,
skills, queues), SLA policies, macros and sub-statuses. One audited path per section;
each checks every field and names the one that is wrong."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from guanxi.audit.services import log_action
from guanxi.core.errors import FieldError, InvalidInput, NotFound
from guanxi.core.permissions import Actor, require
from guanxi.servicedesk import clocks, macros
from guanxi.servicedesk.models import (
    AgentProfile,
    Category,
    Macro,
    Priority,
    Queue,
    SlaPolicy,
    Status,
    SubStatus,
)
from guanxi.servicedesk.permissions import DeskAction
from guanxi.servicedesk.sla import BusinessCalendar, CalendarError

Data = Mapping[str, Any]


def _get(data: Data, key: str) -> str:
    return str(data.get(key, "") or "").strip()


def _list(data: Data, key: str) -> list[str]:
    getlist = getattr(data, "getlist", None)
    values = getlist(key) if getlist else data.get(key, [])
    return [str(v) for v in (values if isinstance(values, list) else [values]) if str(v)]


def _number(data: Data, key: str, errors: list[FieldError], *, low: float = 0,
            high: float = 10**6, whole: bool = True, blank: bool = False) -> Any:
    raw = _get(data, key)
    if not raw and blank:
        return None
    try:
        value = int(raw) if whole else float(raw)
    except ValueError:
        errors.append(FieldError(key, _("Give a number"), raw))
        return None
    if not low <= value <= high:
        errors.append(FieldError(key, _("Between %(low)s and %(high)s")
                                 % {"low": low, "high": high}, raw))
        return None
    return value


def _calendar(actor: Actor, data: Data) -> None:
    errors: list[FieldError] = []
    try:
        hours = json.loads(_get(data, "hours") or "{}")
        if not isinstance(hours, dict):
            raise ValueError
    except ValueError:
        raise InvalidInput.single("hours", _("Working hours are JSON: {\"0\": [[\"09:00\", "
                                             "\"18:00\"]], …}")) from None
    closures = []
    for i, line in enumerate(_get(data, "closures").splitlines()):
        if line.strip():
            try:
                closures.append(dt.date.fromisoformat(line.strip()).isoformat())
            except ValueError:
                errors.append(FieldError(f"closures.{i}", _("A date as YYYY-MM-DD"), line))
    try:
        BusinessCalendar({int(k): v for k, v in hours.items()}, tz=_get(data, "tz"),
                         region=_get(data, "region") or None)
    except CalendarError as exc:
        errors.append(FieldError(exc.field, exc.reason))
    except (TypeError, ValueError) as exc:
        errors.append(FieldError("hours", str(exc)))
    numbers = {k: _number(data, k, errors, low=low, high=high, whole=whole) for k, low, high,
               whole in (("auto_close_days", 1, 365, True), ("low_score", 1, 4, True),
                         ("complaint_follow_up_days", 1, 90, True),
                         ("max_attachment_mb", 1, 50, True),
                         ("bot_threshold", 0, 1, False))}
    if errors:
        raise InvalidInput(errors)
    s = clocks.desk_settings()
    s.hours = {str(int(k)): v for k, v in hours.items()}
    s.tz, s.region, s.closures = _get(data, "tz"), _get(data, "region"), closures
    if "wechat_token" in data:
        s.wechat_token = _get(data, "wechat_token")[:64]
    for k, v in numbers.items():
        setattr(s, k, v)
    s.save()
    log_action(actor=actor, action="servicedesk.settings", obj=s)


def _queue(actor: Actor, data: Data) -> None:
    from guanxi.accounts.models import Team

    name = _get(data, "name")
    if not name:
        raise InvalidInput.single("name", _("Give the queue a name"))
    team = Team.objects.filter(pk=_get(data, "team") or 0).first()
    queue = Queue.objects.filter(pk=_get(data, "id") or 0).first() or Queue()
    queue.name, queue.team, queue.skill = name[:80], team, _get(data, "skill")[:40]
    queue.save()
    log_action(actor=actor, action="servicedesk.queue", obj=queue)


def _category(actor: Actor, data: Data) -> None:
    name = _get(data, "name")
    if not name:
        raise InvalidInput.single("name", _("Give the category a name"))
    category = Category.objects.filter(pk=_get(data, "id") or 0).first() or Category()
    category.name = name[:80]
    category.queue = Queue.objects.filter(pk=_get(data, "queue") or 0).first()
    category.keywords = [k.strip() for k in _get(data, "keywords").replace("，", ",")
                         .split(",") if k.strip()][:100]
    category.save()
    log_action(actor=actor, action="servicedesk.category", obj=category)


def _agent(actor: Actor, data: Data) -> None:
    from guanxi.accounts.models import User

    errors: list[FieldError] = []
    user = User.objects.filter(pk=_get(data, "user") or 0, is_active=True).first()
    if user is None:
        errors.append(FieldError("user", _("Choose a member of staff")))
    cap = _number(data, "load_cap", errors, low=1, high=1000)
    if errors:
        raise InvalidInput(errors)
    profile, _created = AgentProfile.objects.get_or_create(user=user)
    profile.available = data.get("available") == "on"
    profile.load_cap = cap
    profile.skills = [k.strip() for k in _get(data, "skills").replace("，", ",").split(",")
                      if k.strip()][:30]
    profile.save()
    profile.queues.set(Queue.objects.filter(pk__in=[int(q) for q in _list(data, "queues")
                                                    if q.isdigit()]))
    log_action(actor=actor, action="servicedesk.agent", obj=profile,
               extra={"user": profile.user_id, "available": profile.available})


def _policy(actor: Actor, data: Data) -> None:
    errors: list[FieldError] = []
    name = _get(data, "name")
    if not name:
        errors.append(FieldError("name", _("Give the policy a name")))
    priority = _get(data, "priority")
    if priority and priority not in Priority.values:
        errors.append(FieldError("priority", _("Unknown priority"), priority))
    first = _number(data, "first_response_minutes", errors, low=1, high=525_600)
    nxt = _number(data, "next_response_minutes", errors, low=1, high=525_600, blank=True)
    resolution = _number(data, "resolution_minutes", errors, low=1, high=525_600, blank=True)
    warn = _number(data, "warn_minutes", errors, low=0, high=10_000)
    order = _number(data, "order", errors, low=0, high=10_000)
    if errors:
        raise InvalidInput(errors)
    policy = SlaPolicy.objects.filter(pk=_get(data, "id") or 0).first() or SlaPolicy()
    policy.name, policy.priority, policy.tier = name[:80], priority, _get(data, "tier")[:40]
    policy.category = Category.objects.filter(pk=_get(data, "category") or 0).first()
    policy.first_response_minutes, policy.next_response_minutes = first, nxt
    policy.resolution_minutes, policy.warn_minutes, policy.order = resolution, warn, order
    policy.business_hours = data.get("business_hours") == "on"
    policy.escalate_anytime = data.get("escalate_anytime") == "on"
    policy.save()
    log_action(actor=actor, action="servicedesk.sla_policy", obj=policy)


def _macro(actor: Actor, data: Data) -> None:
    macros.macro_save(actor=actor, name=_get(data, "name"), body=str(data.get("body", "")),
                        set_status=_get(data, "set_status"),
                        set_priority=_get(data, "set_priority"),
                        macro=Macro.objects.filter(pk=_get(data, "id") or 0).first())


def _sub_status(actor: Actor, data: Data) -> None:
    status, name = _get(data, "status"), _get(data, "name")
    errors = []
    if status not in Status.values:
        errors.append(FieldError("status", _("Unknown status"), status))
    if not name:
        errors.append(FieldError("name", _("Give it a name")))
    if errors:
        raise InvalidInput(errors)
    try:
        with transaction.atomic():
            sub = SubStatus.objects.create(status=status, name=name[:60])
    except IntegrityError:
        raise InvalidInput.single("name", _("This status has a sub-status of this name"),
                                  name) from None
    log_action(actor=actor, action="servicedesk.sub_status", obj=sub)


_DELETABLE: dict[str, Any] = {
    "queue": Queue, "category": Category, "policy": SlaPolicy, "macro": Macro,
    "sub_status": SubStatus}


def _delete(actor: Actor, data: Data) -> None:
    model = _DELETABLE.get(_get(data, "what"))
    row = model.objects.filter(pk=_get(data, "id") or 0).first() if model else None
    if row is None:
        raise NotFound(_("Not found"))
    log_action(actor=actor, action="servicedesk.delete", obj=row)
    row.delete()


SECTIONS: dict[str, Callable[[Actor, Data], None]] = {
    "calendar": _calendar, "queue": _queue, "category": _category, "agent": _agent,
    "policy": _policy, "macro": _macro, "sub_status": _sub_status, "delete": _delete}


def apply(*, actor: Actor, section: str, data: Data) -> None:
    require(actor, DeskAction.MANAGE)
    handler = SECTIONS.get(section)
    if handler is None:
        raise InvalidInput.single("section", _("Unknown section"), section)
    with transaction.atomic():
        handler(actor, data)
