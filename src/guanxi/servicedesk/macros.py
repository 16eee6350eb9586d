"""Macros: canned replies with variables ({{ customer.name }}, {{ ticket.id }}, …) that
may also set the status and the priority — saved by managers, applied by agents (a reply
through services.ticket_reply)."""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from guanxi.audit.services import log_action
from guanxi.core.errors import FieldError, InvalidInput
from guanxi.core.permissions import Actor, require, staff
from guanxi.servicedesk.models import Macro, Priority, Status, Ticket, TicketMessage
from guanxi.servicedesk.permissions import DeskAction
from guanxi.servicedesk.services import ticket_reply, ticket_update

MACRO_VARIABLES = ("customer.name", "customer.salutation", "ticket.id", "ticket.subject",
                   "agent.name")
_VAR = re.compile(r"\{\{\s*([a-z_.]+)\s*\}\}")


def macro_errors(body: str) -> list[FieldError]:
    unknown = sorted({m.group(1) for m in _VAR.finditer(body)} - set(MACRO_VARIABLES))
    if unknown:
        return [FieldError("body", _("Unknown variable: %(names)s (use %(known)s)") % {
            "names": ", ".join(unknown), "known": ", ".join(MACRO_VARIABLES)})]
    return [] if body.strip() else [FieldError("body", _("Write the text"))]


def macro_render(macro: Macro, ticket: Ticket, agent: Any) -> str:
    from guanxi.engagement.render import customer_context

    who = customer_context(ticket.customer, ticket.customer.preferred_language)
    values = {"customer.name": who["name"], "customer.salutation": who["salutation"],
              "ticket.id": str(ticket.pk), "ticket.subject": ticket.subject,
              "agent.name": str(agent) if agent else ""}
    return _VAR.sub(lambda m: values.get(m.group(1), m.group(0)), macro.body)


def macro_save(*, actor: Actor, name: str, body: str, set_status: str = "",
               set_priority: str = "", macro: Macro | None = None) -> Macro:
    require(actor, DeskAction.MANAGE)
    errors = macro_errors(body)
    if not name.strip():
        errors.append(FieldError("name", _("Give the macro a name")))
    if set_status and set_status not in Status.values:
        errors.append(FieldError("set_status", _("Unknown status"), set_status))
    if set_priority and set_priority not in Priority.values:
        errors.append(FieldError("set_priority", _("Unknown priority"), set_priority))
    clash = Macro.objects.filter(name=name.strip())
    if macro is not None:
        clash = clash.exclude(pk=macro.pk)
    if clash.exists():
        errors.append(FieldError("name", _("A macro has this name already"), name))
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        macro = macro or Macro()
        macro.name, macro.body = name.strip(), body
        macro.set_status, macro.set_priority = set_status, set_priority
        macro.save()
        log_action(actor=actor, action="macro.save", obj=macro)
    return macro


def macro_apply(*, actor: Actor, ticket: Ticket, macro: Macro, seen: int | None = None,
                body: str | None = None, status: str | None = None) -> TicketMessage:
    """Reply with the macro's text (or `body`, the agent's edit of it) and apply its
    priority and status (or `status`, the one the agent chose)."""
    text = macro_render(macro, ticket, staff(actor)) if body is None else body
    if macro.set_priority:
        ticket = ticket_update(actor=actor, ticket=ticket, priority=macro.set_priority)
    return ticket_reply(actor=actor, ticket=ticket, body=text, seen=seen,
                        status=status or macro.set_status or Status.PENDING)
