"""The service desk's automation actions: open a ticket, and the SLA escalations — alert
the team, reassign, raise the priority — which act on the ticket whose event started
the run (an `sla_warning` or `sla_breached`), else on the customer's latest open ticket.
Each runs once per step key (the engine records it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import override

from guanxi.servicedesk.models import ACTIVE, Channel, Priority, Ticket, TicketMessage


def _trigger_ticket(customer_id: int, key: str) -> Ticket | None:
    """The ticket named by the event that started this run."""
    from guanxi.automation.models import Run
    from guanxi.timeline.store import event_model

    version, _customer, _step, occurrence = key.split(":")
    run = Run.objects.filter(version_id=int(version), customer_id=customer_id,
                             occurrence=int(occurrence)).only("trigger_key").first()
    if run is not None and run.trigger_key.startswith("event:"):
        event = event_model().objects.filter(pk=int(run.trigger_key[6:])).only("data").first()
        ticket_id = (event.data or {}).get("ticket") if event is not None else None
        if ticket_id:
            found = Ticket.objects.filter(pk=int(ticket_id), customer_id=customer_id).first()
            if found is not None:
                return found
    return (Ticket.objects.filter(customer_id=customer_id, status__in=ACTIVE)
            .order_by("-pk").first())


def open_ticket(*, customer_id: int, config: Mapping[str, Any], key: str
                ) -> Mapping[str, Any]:
    from guanxi.customers.models import Customer
    from guanxi.servicedesk.services import ticket_open

    marker = f"automation:{key}"[:250]
    done = TicketMessage.objects.filter(message_id=marker).values_list("ticket_id",
                                                                       flat=True).first()
    if done:
        return {"ticket": done}
    ticket = ticket_open(actor=None, subject=str(config.get("subject") or _("Follow-up")),
                         body=str(config.get("body") or config.get("subject") or "-"),
                         channel=Channel.AGENT,
                         customer=Customer.objects.get(pk=customer_id),
                         priority=str(config.get("priority") or ""), message_id=marker)
    return {"ticket": ticket.pk}


def notify_team(*, customer_id: int, config: Mapping[str, Any], key: str
                ) -> Mapping[str, Any]:
    from guanxi.servicedesk.contacts import business_language
    from guanxi.servicedesk.escalation import alert_team

    ticket = _trigger_ticket(customer_id, key)
    if ticket is None:
        return {"alerted": 0}
    with override(business_language()):
        text = str(config.get("text") or "") or _(
            "SLA alert on ticket #%(id)d: %(subject)s") % {"id": ticket.pk,
                                                          "subject": ticket.subject}
    return {"ticket": ticket.pk, "alerted": alert_team(ticket, text)}


def reassign(*, customer_id: int, config: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    from guanxi.servicedesk import escalation

    ticket = _trigger_ticket(customer_id, key)
    if ticket is None:
        return {"ticket": 0}
    ticket = escalation.reassign(ticket)
    return {"ticket": ticket.pk, "assignee": ticket.assignee_id or 0}


def raise_priority(*, customer_id: int, config: Mapping[str, Any], key: str
                   ) -> Mapping[str, Any]:
    from guanxi.servicedesk import escalation

    ticket = _trigger_ticket(customer_id, key)
    if ticket is None:
        return {"ticket": 0}
    ticket = escalation.raise_priority(ticket)
    return {"ticket": ticket.pk, "priority": str(ticket.priority)}


def priority_choices() -> list[tuple[str, Any]]:
    return list(Priority.choices)
