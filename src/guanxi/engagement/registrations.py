"""What the engagement app adds to the platform's registries (called from
EngagementConfig.ready()): permissions, providers, event kinds, the outbox queue, the
"send a message" automation action, navigation, settings, the 360 panel, the merge rule
and personal data."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from guanxi.core.jsonable import jsonable
from guanxi.core.permissions import Actor, can
from guanxi.core.privacy import Person


def message_text(event: Any) -> str:
    from guanxi.engagement.models import REASONS, MessageChannel

    data = event.data or {}
    code = str(data.get("channel", ""))
    channel = dict(MessageChannel.choices).get(code, code)
    texts = {
        "message_sent": gettext("%(channel)s message sent"),
        "message_not_sent": gettext("%(channel)s message not sent: %(reason)s"),
        "message_failed": gettext("%(channel)s message failed"),
        "message_opened": gettext("%(channel)s message opened"),
        "message_clicked": gettext("%(channel)s message: link clicked"),
        "message_delivered": gettext("%(channel)s message delivered"),
        "message_unsubscribed": gettext("Unsubscribed from %(channel)s marketing"),
        "message_reply": gettext("%(channel)s reply"),
    }
    reason = REASONS.get(data.get("reason", ""), data.get("reason", ""))
    return texts[event.kind] % {"channel": channel, "reason": reason}


def _anymail_tracking(sender: Any, event: Any, esp_name: str, **kwargs: Any) -> None:
    from guanxi.engagement.inbound import anymail_tracking

    anymail_tracking(event)


def messages_panel(actor: Actor, customer_id: int) -> dict[str, Any] | None:
    from guanxi.engagement.permissions import EngagementAction
    from guanxi.engagement.selectors import messages_of_customer, send_form_choices

    if not can(actor, EngagementAction.VIEW):
        return None
    from guanxi.core.masking import mask_free_text
    from guanxi.core.permissions import sees_masked

    messages = list(messages_of_customer(customer_id, limit=10))
    if sees_masked(actor):  # what staff typed may quote contacts
        for m in messages:
            m.subject = mask_free_text(m.subject)
            m.body = mask_free_text(m.body)
    return {"messages": messages,
            "can_send": can(actor, EngagementAction.SEND),
            "choices": send_form_choices() if can(actor, EngagementAction.SEND) else None,
            "customer_id": customer_id}


def _export(person: Person) -> list[dict[str, Any]]:
    from guanxi.engagement.models import Message

    rows = Message.objects.filter(customer_id=person.customer_id).order_by("pk")
    return [jsonable({"channel": m.channel, "purpose": m.purpose, "status": m.status,
                      "reason": m.reason, "address": m.address, "subject": m.subject,
                      "body": m.body, "created_at": m.created_at, "sent_at": m.sent_at,
                      "opened_at": m.opened_at, "clicked_at": m.clicked_at})
            for m in rows]


def _erase(person: Person) -> int:
    from guanxi.engagement.models import Message

    return int(Message.objects.filter(customer_id=person.customer_id).delete()[0])


def register_engagement() -> None:
    from guanxi.core.automation import ActionType, ConfigField, register_action_types
    from guanxi.core.lazy import lazy
    from guanxi.core.privacy import PersonalData, register_personal_data
    from guanxi.core.shell import NavEntry, register_nav, register_settings_link
    from guanxi.core.work import register_handler
    from guanxi.customers.extensions import Panel, register_panel
    from guanxi.customers.merging import MergeRule, Strategy, register_merge_rule
    from guanxi.engagement.permissions import EngagementAction, register_engagement_actions
    from guanxi.engagement.providers.registry import register_builtin_providers
    from guanxi.timeline.kinds import INTERACTION, INTERNAL, SYSTEM, EventKind, register_kinds

    register_engagement_actions()
    register_builtin_providers()
    fields = {"message": int, "channel": str, "purpose": str, "origin": str,
              "origin_id": int, "reason": str, "url": str}
    flags = frozenset({INTERNAL, SYSTEM})
    register_kinds([
        EventKind("message_sent", _("Message sent"), flags, fields, strict=True,
                  render=message_text, app="engagement"),
        EventKind("message_not_sent", _("Message not sent"), flags, fields, strict=True,
                  render=message_text, app="engagement"),
        EventKind("message_failed", _("Message failed"), flags, fields, strict=True,
                  render=message_text, app="engagement"),
        EventKind("message_delivered", _("Message delivered"), flags, fields, strict=True,
                  render=message_text, app="engagement"),
        EventKind("message_opened", _("Message opened"), frozenset({INTERNAL, INTERACTION}),
                  fields, strict=True, render=message_text, app="engagement"),
        EventKind("message_clicked", _("Message link clicked"),
                  frozenset({INTERNAL, INTERACTION}), fields, strict=True,
                  render=message_text, app="engagement", personal=frozenset({"url"})),
        EventKind("message_unsubscribed", _("Unsubscribed"), frozenset({INTERNAL}), fields,
                  strict=True, render=message_text, app="engagement"),
        EventKind("message_reply", _("Reply to a message"), frozenset({INTERNAL, INTERACTION}),
                  {"channel": str, "text": str}, strict=True, render=message_text,
                  app="engagement", personal=frozenset({"text"})),
    ])
    from anymail.signals import tracking

    tracking.connect(_anymail_tracking, dispatch_uid="guanxi.engagement.tracking")
    register_handler("engagement.send", lazy("guanxi.engagement.outbox:send_work"),
                     atomic=False, lease_s=60, max_attempts=5, backoff_s=10)
    register_handler("engagement.campaign", lazy("guanxi.engagement.campaigns:campaign_work"),
                     atomic=False, lease_s=120, max_attempts=5, backoff_s=30)
    register_action_types(ActionType(
        "engagement.send_message", _("Send a message"), "engagement",
        lazy("guanxi.engagement.actions:send_message"), EngagementAction.MANAGE,
        (ConfigField("template", _("Template"),
                     choices=lazy("guanxi.engagement.selectors:template_choices")),),
        help=_("Sent under the send policy: consent, suppression list, frequency cap and "
               "quiet hours (a message due at night waits for the morning).")))
    register_nav(NavEntry("engagement", _("Messages"), "engagement:messages",
                          EngagementAction.VIEW, 30, icon="send"))
    register_settings_link(NavEntry("engagement", _("Channels and send policy"),
                                    "engagement:settings", EngagementAction.SETUP, 45,
                                    icon="send"))
    register_panel(Panel("engagement.messages", "engagement/_customer_messages.html",
                         messages_panel, order=55))
    # Messages are the absorbed customer's history: they move to the kept customer. A
    # campaign both were in keeps the kept customer's recipient row (one per campaign).
    from guanxi.engagement.models import CampaignRecipient, Message

    register_merge_rule(MergeRule(Message, Strategy.MOVE))
    register_merge_rule(MergeRule(CampaignRecipient, Strategy.KEEP_SURVIVOR,
                                  key=("campaign_id",)))
    register_personal_data(PersonalData(
        "engagement.messages", _("Messages sent to the customer"), "engagement",
        {"address": "contact", "subject": "record", "body": "record",
         "status": "behaviour", "opened_at": "behaviour", "clicked_at": "behaviour"},
        [_("Marketing and service messages the customer agreed to")], _export, _erase,
        recipients=[_("The email, SMS, WeChat and push providers set up under Channels")]))
