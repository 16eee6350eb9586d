"""Every write to automations goes through here, checked and audited: save a draft,
publish it as a new version, pause, resume, archive, enrol one customer by hand."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.audit.services import log_action
from guanxi.automation.definition import check_definition, definition_errors
from guanxi.automation.engine import enrol_many
from guanxi.automation.models import (
    Automation,
    AutomationStatus,
    AutomationVersion,
    Reentry,
    Run,
)
from guanxi.automation.permissions import AutomationAction
from guanxi.core.errors import Conflict, FieldError, InvalidInput
from guanxi.core.permissions import Actor, require, staff
from guanxi.customers.models import Customer

DEFINITION = ("trigger", "trigger_config", "conditions", "steps", "goal", "reentry",
              "reentry_days")


def _basic_errors(name: str, reentry: str, reentry_days: int) -> list[FieldError]:
    errors = []
    if not name.strip():
        errors.append(FieldError("name", _("Give the automation a name")))
    elif len(name) > 120:
        errors.append(FieldError("name", _("At most 120 characters"), name))
    if reentry not in Reentry.values:
        errors.append(FieldError("reentry", _("Choose one of: %(choices)s")
                                 % {"choices": ", ".join(Reentry.values)}, reentry))
    if isinstance(reentry_days, bool) or not isinstance(reentry_days, int) \
            or not 0 <= reentry_days <= 3650:
        errors.append(FieldError("reentry_days", _("Give a whole number from 0 to 3650"),
                                 reentry_days))
    elif reentry == Reentry.AFTER and reentry_days < 1:
        errors.append(FieldError("reentry_days", _("Give the days before a customer may "
                                                   "enter again")))
    return errors


def automation_save(*, actor: Actor, automation: Automation | None = None, name: str,
                    description: str = "", trigger: str, trigger_config: dict[str, Any],
                    conditions: dict[str, Any] | None = None, steps: list[dict[str, Any]],
                    goal: dict[str, Any] | None = None, reentry: str = Reentry.NEVER,
                    reentry_days: int = 0) -> Automation:
    """Create an automation or change its draft. The draft must be complete (every error
    at once, each naming its place); a live automation keeps running its published
    version until the draft is published."""
    require(actor, AutomationAction.MANAGE)
    name = name.strip()
    errors = _basic_errors(name, reentry, reentry_days)
    errors += definition_errors(trigger=trigger, trigger_config=trigger_config,
                                conditions=conditions or {}, steps=steps, goal=goal or {},
                                actor=actor)
    clash = Automation.objects.filter(name=name)
    if automation is not None:
        clash = clash.exclude(pk=automation.pk)
        if automation.status == AutomationStatus.ARCHIVED:
            raise Conflict(_("An archived automation cannot be changed"))
    if name and clash.exists():
        errors.append(FieldError("name", _("Another automation has this name"), name))
    if errors:
        raise InvalidInput(errors)
    values = {"name": name, "description": description.strip(), "trigger": trigger,
              "trigger_config": trigger_config, "conditions": conditions or {},
              "steps": steps, "goal": goal or {}, "reentry": reentry,
              "reentry_days": reentry_days, "updated_at": timezone.now()}
    with transaction.atomic():
        if automation is None:
            automation = Automation.objects.create(created_by=staff(actor), **values)
            log_action(actor=actor, action="automation.create", obj=automation,
                       extra={"name": name})
        else:
            before = {k: getattr(automation, k) for k in values if k != "updated_at"}
            for k, v in values.items():
                setattr(automation, k, v)
            automation.save()
            changed = {k: [before[k], values[k]] for k in before if before[k] != values[k]}
            log_action(actor=actor, action="automation.update", obj=automation,
                       changes=changed)
    return automation


def has_unpublished_changes(automation: Automation) -> bool:
    live = automation.live
    return live is None or any(getattr(live, f) != getattr(automation, f) for f in DEFINITION)


def automation_publish(*, actor: Actor, automation: Automation) -> AutomationVersion:
    """Publish the draft as a new version and make the automation active. New entries
    use it; customers in flight finish on the version they entered with."""
    require(actor, AutomationAction.MANAGE)
    if automation.status == AutomationStatus.ARCHIVED:
        raise Conflict(_("An archived automation cannot be published"))
    check_definition(trigger=automation.trigger, trigger_config=automation.trigger_config,
                     conditions=automation.conditions, steps=automation.steps,
                     goal=automation.goal, actor=actor)
    with transaction.atomic():
        locked = Automation.objects.select_for_update().get(pk=automation.pk)
        if not has_unpublished_changes(automation) and locked.live_id:
            version = locked.live
            assert version is not None
        else:
            number = (locked.versions.aggregate(n=Max("number"))["n"] or 0) + 1
            version = AutomationVersion.objects.create(
                automation=locked, number=number, published_by=staff(actor),
                **{f: getattr(automation, f) for f in DEFINITION})
        locked.live = version
        locked.status = AutomationStatus.ACTIVE
        locked.updated_at = timezone.now()
        locked.save(update_fields=["live", "status", "updated_at"])
        log_action(actor=actor, action="automation.publish", obj=locked,
                   extra={"version": version.number})
    automation.live, automation.status = version, AutomationStatus.ACTIVE
    return version


def _set_status(actor: Actor, automation: Automation, status: str, allowed_from: tuple[str, ...],
                message: str) -> Automation:
    require(actor, AutomationAction.MANAGE)
    with transaction.atomic():
        updated = Automation.objects.filter(pk=automation.pk, status__in=allowed_from).update(
            status=status, updated_at=timezone.now())
        if not updated:
            raise Conflict(message)
        log_action(actor=actor, action=f"automation.{status}", obj=automation,
                   changes={"status": [automation.status, status]})
    automation.status = status
    return automation


def automation_pause(*, actor: Actor, automation: Automation) -> Automation:
    """Stop new entries and hold runs where they are (their steps wait until resumed)."""
    return _set_status(actor, automation, AutomationStatus.PAUSED, (AutomationStatus.ACTIVE,),
                       _("Only an active automation can be paused"))


def automation_resume(*, actor: Actor, automation: Automation) -> Automation:
    return _set_status(actor, automation, AutomationStatus.ACTIVE, (AutomationStatus.PAUSED,),
                       _("Only a paused automation can be resumed"))


def automation_archive(*, actor: Actor, automation: Automation) -> Automation:
    """Archive: no new entries; runs in flight end at their next step."""
    return _set_status(actor, automation, AutomationStatus.ARCHIVED,
                       (AutomationStatus.DRAFT, AutomationStatus.ACTIVE,
                        AutomationStatus.PAUSED),
                       _("This automation is archived already"))


def automation_enrol(*, actor: Actor, automation: Automation, customer: Customer,
                     check_conditions: bool = True) -> Run:
    """Put one customer into a live automation by hand (the entry conditions and re-entry
    policy apply unless the caller says otherwise)."""
    require(actor, AutomationAction.MANAGE)
    if automation.status != AutomationStatus.ACTIVE or automation.live is None:
        raise Conflict(_("Only an active automation takes customers"))
    with transaction.atomic():
        if not enrol_many(automation.live, [customer.pk], check_conditions=check_conditions):
            raise Conflict(_("This customer cannot enter now: they do not meet the entry "
                             "conditions, are in it already, or the re-entry policy keeps "
                             "them out"))
        run = Run.objects.filter(automation=automation, customer=customer).latest("occurrence")
        log_action(actor=actor, action="automation.enrol", obj=automation,
                   customer_id=customer.pk)
    return run
