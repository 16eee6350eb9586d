"""What the service desk adds to the platform's registries (called from
ServiceDeskConfig.ready()): permissions, event kinds, automation actions, the SLA
watchdog check, navigation, settings, the 360 panel, home cards, search, merge rules
and personal data."""

from __future__ import annotations

import time
from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from guanxi.core.jsonable import jsonable
from guanxi.core.privacy import Person

_last_close = 0.0


def tick() -> int:
    """The watchdog check (every 30 s): SLA warnings and breaches; every 10 minutes,
    solved tickets past their days close."""
    global _last_close
    from guanxi.servicedesk.clocks import scan
    from guanxi.servicedesk.services import close_solved

    scan()
    if time.monotonic() - _last_close >= 600:
        _last_close = time.monotonic()
        close_solved()
    return 0


def ticket_text(event: Any) -> str:
    from guanxi.servicedesk.models import Metric

    data = event.data or {}
    metric = dict(Metric.choices).get(data.get("metric", ""), data.get("metric", ""))
    texts = {
        "ticket_opened": gettext("Ticket #%(ticket)s opened: %(subject)s"),
        "ticket_solved": gettext("Ticket #%(ticket)s solved: %(subject)s"),
        "sla_warning": gettext("Ticket #%(ticket)s: %(metric)s due soon"),
        "sla_breached": gettext("Ticket #%(ticket)s: %(metric)s target missed"),
        "survey_answered": gettext("Survey answered: %(score)s"),
    }
    return texts[event.kind] % {"ticket": data.get("ticket", ""),
                                "subject": data.get("subject", ""), "metric": metric,
                                "score": data.get("score", "")}


def _export(person: Person) -> list[dict[str, Any]]:
    from guanxi.servicedesk.models import Ticket

    out = []
    for t in Ticket.objects.filter(customer_id=person.customer_id).prefetch_related(
            "messages__attachments").order_by("pk"):
        out.append(jsonable({
            "ticket": t.pk, "subject": t.subject, "status": t.status, "channel": t.channel,
            "created_at": t.created_at, "reply_to": t.reply_to,
            "messages": [{"kind": m.kind, "body": m.body, "created_at": m.created_at,
                          "attachments": [a.name for a in m.attachments.all()]}
                         for m in t.messages.all() if m.kind != "note"]}))
    return out


def _erase(person: Person) -> int:
    from guanxi.servicedesk.models import Ticket

    return int(Ticket.objects.filter(customer_id=person.customer_id).delete()[0])


def _export_surveys(person: Person) -> list[dict[str, Any]]:
    from guanxi.servicedesk.models import Invitation

    return [jsonable({"survey": i.survey.name, "sent": i.created_at,
                      "answered_at": i.answered_at, "score": i.score, "answers": i.answers,
                      "comment": i.comment})
            for i in Invitation.objects.filter(customer_id=person.customer_id)
            .select_related("survey").order_by("pk")]


def _erase_surveys(person: Person) -> int:
    from guanxi.servicedesk.models import Invitation

    return int(Invitation.objects.filter(customer_id=person.customer_id).delete()[0])


def _export_bot(person: Person) -> list[dict[str, Any]]:
    from guanxi.servicedesk.models import Turn

    return [jsonable({"question": t.question, "answer": t.answer, "at": t.created_at})
            for t in Turn.objects.filter(conversation__customer_id=person.customer_id)
            .order_by("pk")]


def _erase_bot(person: Person) -> int:
    from guanxi.servicedesk.models import Conversation

    return int(Conversation.objects.filter(customer_id=person.customer_id).delete()[0])


def _search(actor: Any, query: str, limit: int) -> list[Any]:
    from django.urls import reverse

    from guanxi.core.shell import SearchHit
    from guanxi.servicedesk.selectors import mask_tickets, tickets_view

    return [SearchHit(f"#{t.pk} {t.subject}", str(t.customer),
                      reverse("servicedesk:ticket", args=[t.pk]))
            for t in mask_tickets(actor, tickets_view(actor, "all", q=query)[:limit])]


def register_servicedesk() -> None:
    from guanxi.core.automation import ActionType, ConfigField, register_action_types
    from guanxi.core.lazy import lazy
    from guanxi.core.privacy import PersonalData, register_personal_data
    from guanxi.core.shell import (
        HomeCard,
        NavEntry,
        SearchProvider,
        register_home_card,
        register_nav,
        register_search_provider,
        register_settings_link,
    )
    from guanxi.core.watchdog import register_check
    from guanxi.customers.extensions import Panel, register_panel
    from guanxi.customers.merging import MergeRule, Strategy, register_merge_rule
    from guanxi.servicedesk.models import Conversation, Invitation, Ticket
    from guanxi.servicedesk.permissions import DeskAction, register_desk_actions
    from guanxi.timeline.kinds import INTERACTION, INTERNAL, SYSTEM, EventKind, register_kinds

    register_desk_actions()
    ticket = {"ticket": int, "subject": str, "channel": str, "priority": str}
    sla = {"ticket": int, "metric": str, "due_at": str, "priority": str}
    register_kinds([
        EventKind("ticket_opened", _("Ticket opened"), frozenset({INTERACTION}), ticket,
                  strict=True, render=ticket_text, app="servicedesk",
                  personal=frozenset({"subject"})),
        EventKind("ticket_solved", _("Ticket solved"), frozenset({INTERNAL}), ticket,
                  strict=True, render=ticket_text, app="servicedesk",
                  personal=frozenset({"subject"})),
        EventKind("sla_warning", _("SLA target due soon"), frozenset({INTERNAL, SYSTEM}), sla,
                  strict=True, render=ticket_text, app="servicedesk"),
        EventKind("sla_breached", _("SLA target missed"), frozenset({INTERNAL, SYSTEM}), sla,
                  strict=True, render=ticket_text, app="servicedesk"),
        EventKind("survey_answered", _("Survey answered"), frozenset({INTERACTION}),
                  {"survey": int, "kind": str, "score": int, "ticket": int, "comment": str},
                  strict=True, render=ticket_text, app="servicedesk",
                  personal=frozenset({"comment"})),
    ])
    actions = "guanxi.servicedesk.actions"
    register_action_types(
        ActionType("servicedesk.open_ticket", _("Open a ticket"), "servicedesk",
                   lazy(f"{actions}:open_ticket"), DeskAction.WORK,
                   (ConfigField("subject", _("Subject")),
                    ConfigField("body", _("Text"), required=False),
                    ConfigField("priority", _("Priority"), required=False,
                                choices=lazy(f"{actions}:priority_choices")))),
        ActionType("servicedesk.notify_team", _("Alert the ticket's team"), "servicedesk",
                   lazy(f"{actions}:notify_team"), DeskAction.WORK,
                   (ConfigField("text", _("Alert text"), required=False),),
                   help=_("The assignee and the team's managers see the alert on their home "
                          "page. Use it after an SLA warning or breach trigger.")),
        ActionType("servicedesk.reassign", _("Reassign the ticket"), "servicedesk",
                   lazy(f"{actions}:reassign"), DeskAction.WORK,
                   help=_("The next available agent of the ticket's queue (round robin).")),
        ActionType("servicedesk.raise_priority", _("Raise the ticket's priority"),
                   "servicedesk", lazy(f"{actions}:raise_priority"), DeskAction.WORK))
    register_check(tick, every=30.0)
    from anymail.signals import inbound

    inbound.connect(lazy("guanxi.servicedesk.inbound:anymail_inbound"),
                    dispatch_uid="guanxi.servicedesk.inbound", weak=False)
    register_nav(NavEntry("servicedesk", _("Tickets"), "servicedesk:tickets", DeskAction.VIEW,
                          25, icon="lifebuoy"))
    register_nav(NavEntry("servicedesk.kb", _("Knowledge base"), "servicedesk:articles",
                          DeskAction.VIEW, 26, icon="book"))
    register_nav(NavEntry("servicedesk.surveys", _("Surveys"), "servicedesk:surveys",
                          DeskAction.VIEW, 27, icon="mood-smile"))
    register_settings_link(NavEntry("servicedesk", _("Service desk: queues, SLA, macros"),
                                    "servicedesk:settings", DeskAction.MANAGE, 50,
                                    icon="lifebuoy"))
    register_panel(Panel("servicedesk.tickets", "servicedesk/_customer_tickets.html",
                         lazy("guanxi.servicedesk.selectors:customer_panel"), order=50))
    register_home_card(HomeCard("servicedesk.due", "servicedesk/_home_due.html",
                                lazy("guanxi.servicedesk.selectors:home_due"),
                                DeskAction.WORK, order=4))
    register_search_provider(SearchProvider("servicedesk", _("Tickets"), _search,
                                            DeskAction.VIEW, order=30))
    # A customer's tickets, surveys and bot conversations are their history: they move to
    # the kept customer.
    register_merge_rule(MergeRule(Ticket, Strategy.MOVE))
    register_merge_rule(MergeRule(Invitation, Strategy.MOVE))
    register_merge_rule(MergeRule(Conversation, Strategy.MOVE))
    register_personal_data(PersonalData(
        "servicedesk.tickets", _("Tickets and their messages"), "servicedesk",
        {"subject": "record", "reply_to": "contact", "body": "record",
         "attachments": "record"},
        [_("Answering the customer's questions and complaints")], _export, _erase,
        recipients=[_("The email, SMS and WeChat providers set up under Channels")]))
    register_personal_data(PersonalData(
        "servicedesk.surveys", _("Survey answers"), "servicedesk",
        {"score": "preference", "comment": "record"},
        [_("Measuring satisfaction (CSAT, NPS)")], _export_surveys, _erase_surveys))
    register_personal_data(PersonalData(
        "servicedesk.bot", _("Conversations with the FAQ bot"), "servicedesk",
        {"question": "record"}, [_("Answering the customer's questions")], _export_bot,
        _erase_bot))
