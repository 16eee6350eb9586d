"""Writes of the engagement app: templates, channel set-up, the send policy, the
suppression list, a message a member of staff sends, and what customers answer
(unsubscribe links, SMS replies). Every write is checked, audited and validated with
field paths; messages themselves go through the outbox and its one send policy."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from guanxi.audit.services import log_action
from guanxi.core.automation import config_errors
from guanxi.core.errors import FieldError, InvalidInput, NotFound
from guanxi.core.permissions import Actor, require, staff
from guanxi.customers.models import Customer
from guanxi.customers.selectors import customer_is_visible
from guanxi.customers.services import consent_set_by_customer
from guanxi.engagement import render as rendering
from guanxi.engagement.models import (
    ChannelSetup,
    Message,
    MessageChannel,
    Policy,
    Purpose,
    Suppression,
    SuppressionReason,
    Template,
    TemplateText,
)
from guanxi.engagement.outbox import Draft, queue_message, suppress
from guanxi.engagement.permissions import EngagementAction
from guanxi.engagement.providers import provider, providers_for
from guanxi.timeline.services import event_append

LANGUAGES = ("zh-hans", "en")


# --- templates --------------------------------------------------------------------------

@dataclass(frozen=True)
class TextInput:
    language: str
    body: str
    subject: str = ""
    html: str = ""


def _template_errors(where: str, source: str) -> list[FieldError]:
    try:
        rendering.check(source)
    except rendering.TemplateError as exc:
        reason = exc.reason if not exc.line else _("Line %(line)s: %(reason)s") % {
            "line": exc.line, "reason": exc.reason}
        return [FieldError(where, reason, source[:100])]
    return []


def template_save(*, actor: Actor, name: str, channel: str, purpose: str,
                  texts: Sequence[TextInput], provider_template: str = "",
                  template: Template | None = None) -> Template:
    """Create or change a template with its texts (one per language; texts not given are
    removed)."""
    require(actor, EngagementAction.MANAGE)
    errors: list[FieldError] = []
    name = name.strip()
    if not name:
        errors.append(FieldError("name", _("Give the template a name")))
    elif Template.objects.filter(name=name).exclude(
            pk=template.pk if template else 0).exists():
        errors.append(FieldError("name", _("Another template has this name"), name))
    if channel not in MessageChannel.values:
        errors.append(FieldError("channel", _("Unknown channel"), channel))
    if purpose not in Purpose.values:
        errors.append(FieldError("purpose", _("Unknown purpose"), purpose))
    if not texts:
        errors.append(FieldError("texts", _("Give at least one text")))
    seen: set[str] = set()
    for i, text in enumerate(texts):
        where = f"texts.{i}"
        if text.language not in LANGUAGES:
            errors.append(FieldError(f"{where}.language", _("Unknown language"),
                                     text.language))
        elif text.language in seen:
            errors.append(FieldError(f"{where}.language", _("Two texts in this language"),
                                     text.language))
        seen.add(text.language)
        if not text.body.strip() and not text.html.strip():
            errors.append(FieldError(f"{where}.body", _("Write the message")))
        if channel == MessageChannel.EMAIL and not text.subject.strip():
            errors.append(FieldError(f"{where}.subject", _("An email needs a subject")))
        for field, source in (("subject", text.subject), ("body", text.body),
                              ("html", text.html)):
            errors += _template_errors(f"{where}.{field}", source)
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        creating = template is None
        template = template or Template(created_by=staff(actor))
        template.name, template.channel, template.purpose = name, channel, purpose
        template.provider_template = provider_template.strip()[:100]
        template.save()
        TemplateText.objects.filter(template=template).exclude(
            language__in=[t.language for t in texts]).delete()
        for text in texts:
            TemplateText.objects.update_or_create(
                template=template, language=text.language,
                defaults={"subject": text.subject.strip(), "body": text.body,
                          "html": text.html})
        log_action(actor=actor, action="template.create" if creating else "template.change",
                   obj=template, extra={"channel": channel, "purpose": purpose,
                                        "languages": sorted(seen)})
    return template


def template_archive(*, actor: Actor, template: Template) -> Template:
    require(actor, EngagementAction.MANAGE)
    template.archived = True
    template.save(update_fields=["archived", "updated_at"])
    log_action(actor=actor, action="template.archive", obj=template)
    return template


# --- set-up -----------------------------------------------------------------------------

def _time(value: Any, where: str, errors: list[FieldError]) -> dt.time | None:
    try:
        return value if isinstance(value, dt.time) else dt.time.fromisoformat(str(value))
    except ValueError:
        errors.append(FieldError(where, _("Give a time such as 21:00"), value))
        return None


def channel_setup_save(*, actor: Actor, channel: str, provider_name: str,
                       config: Mapping[str, Any], active: bool = True,
                       rate_per_second: int = 50, quiet_start: Any = "21:00",
                       quiet_end: Any = "08:00") -> ChannelSetup:
    """How a channel is sent. Secrets in `config` left empty keep their saved value."""
    require(actor, EngagementAction.SETUP)
    errors: list[FieldError] = []
    if channel not in MessageChannel.values:
        raise InvalidInput([FieldError("channel", _("Unknown channel"), channel)])
    names = {p.name for p in providers_for(channel)}
    if provider_name not in names:
        errors.append(FieldError("provider", _("Not a provider for this channel"),
                                 provider_name))
    existing = ChannelSetup.objects.filter(channel=channel).first()
    merged = dict(config)
    if existing is not None and existing.provider == provider_name:
        for key, value in existing.config.items():
            if merged.get(key) in (None, "") and _secret(key):
                merged[key] = value
    merged = {k: v for k, v in merged.items() if v not in (None, "")}
    if channel == MessageChannel.SMS:  # the secret in the address of reports and replies
        merged["callback_token"] = (existing.config.get("callback_token") if existing
                                    else None) or secrets.token_urlsafe(24)
    if not errors:
        errors += [FieldError(f"config.{f}", m, merged.get(f))
                   for f, m in config_errors(provider(provider_name).fields, {
                       k: v for k, v in merged.items() if k != "callback_token"})]
    if not 1 <= rate_per_second <= 10000:
        errors.append(FieldError("rate_per_second", _("Give 1 to 10,000"), rate_per_second))
    start = _time(quiet_start, "quiet_start", errors)
    end = _time(quiet_end, "quiet_end", errors)
    if errors or start is None or end is None:
        raise InvalidInput(errors)
    with transaction.atomic():
        setup, _created = ChannelSetup.objects.update_or_create(channel=channel, defaults={
            "provider": provider_name, "config": merged, "active": active,
            "rate_per_second": rate_per_second, "quiet_start": start, "quiet_end": end})
        log_action(actor=actor, action="channel.setup", obj=setup,
                   extra={"provider": provider_name, "active": active,
                          "settings": sorted(k for k in merged if not _secret(k))})
    return setup


def _secret(key: str) -> bool:
    return any(word in key for word in ("secret", "password", "key", "token"))


def policy_save(*, actor: Actor, cap_messages: int, cap_days: int,
                default_language: str) -> Policy:
    require(actor, EngagementAction.SETUP)
    errors: list[FieldError] = []
    if not 0 <= cap_messages <= 100:
        errors.append(FieldError("cap_messages", _("Give 0 to 100"), cap_messages))
    if not 1 <= cap_days <= 90:
        errors.append(FieldError("cap_days", _("Give 1 to 90"), cap_days))
    if default_language not in LANGUAGES:
        errors.append(FieldError("default_language", _("Unknown language"), default_language))
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        rules = Policy.objects.select_for_update().first() or Policy()
        old = (rules.cap_messages, rules.cap_days, rules.default_language)
        rules.cap_messages, rules.cap_days = cap_messages, cap_days
        rules.default_language = default_language
        rules.save()
        log_action(actor=actor, action="policy.change", obj=rules,
                   changes={"policy": [list(old), [cap_messages, cap_days, default_language]]})
    return rules


def suppression_add(*, actor: Actor, channel: str, address: str, note: str = ""
                    ) -> Suppression:
    require(actor, EngagementAction.SETUP)
    address = address.strip().lower() if channel == MessageChannel.EMAIL else address.strip()
    errors = []
    if channel not in MessageChannel.values:
        errors.append(FieldError("channel", _("Unknown channel"), channel))
    if not address:
        errors.append(FieldError("address", _("Give the address")))
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        suppress(channel, address, SuppressionReason.MANUAL, note)
        found = Suppression.objects.get(channel=channel, address=address)
        log_action(actor=actor, action="suppression.add", obj=found)
    return found


def suppression_remove(*, actor: Actor, suppression: Suppression) -> None:
    require(actor, EngagementAction.SETUP)
    with transaction.atomic():
        log_action(actor=actor, action="suppression.remove", obj=suppression,
                   extra={"reason": suppression.reason})
        suppression.delete()


# --- sending ----------------------------------------------------------------------------

def message_send(*, actor: Actor, customer: Customer, channel: str, purpose: str,
                 template: Template | None = None, subject: str = "", body: str = ""
                 ) -> Message:
    """A member of staff sends one message to a customer they can see: queued and
    dispatched under the same send policy as every other message."""
    require(actor, EngagementAction.SEND)
    if not customer_is_visible(actor, customer):
        raise NotFound(_("Customer not found"))
    errors: list[FieldError] = []
    if channel not in MessageChannel.values:
        errors.append(FieldError("channel", _("Unknown channel"), channel))
    if purpose not in Purpose.values:
        errors.append(FieldError("purpose", _("Unknown purpose"), purpose))
    if template is not None:
        if template.channel != channel:
            errors.append(FieldError("template", _("The template is for another channel"),
                                     template.pk))
        if template.archived:
            errors.append(FieldError("template", _("The template is archived"), template.pk))
    else:
        if not body.strip():
            errors.append(FieldError("body", _("Write the message")))
        if channel == MessageChannel.EMAIL and not subject.strip():
            errors.append(FieldError("subject", _("An email needs a subject")))
        errors += _template_errors("subject", subject) + _template_errors("body", body)
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        message = queue_message(Draft(
            key=f"staff:{uuid.uuid4().hex}", customer_id=customer.pk, channel=channel,
            purpose=purpose, origin="staff", template_id=template.pk if template else None,
            subject=subject, body=body,
            created_by_id=getattr(staff(actor), "pk", None)))
        log_action(actor=actor, action="message.send", obj=message, customer_id=customer.pk,
                   extra={"channel": channel, "purpose": purpose})
    return message


# --- what customers answer --------------------------------------------------------------

def unsubscribe(message: Message, *, source: str) -> None:
    """The customer withdrew marketing on the message's channel (an unsubscribe link, a
    one-click List-Unsubscribe, a reply): their consent and the suppression list say so,
    and the timeline records it."""
    customer = Customer.objects.filter(pk=message.customer_id, erased_at__isnull=True).first()
    if customer is None:
        return
    with transaction.atomic():
        consent_set_by_customer(customer=customer, channel=message.channel,
                                purpose=Purpose.MARKETING, granted=False, source=source,
                                proof=f"message {message.key}")
        if message.address:
            Suppression.objects.get_or_create(
                channel=message.channel, address=message.address,
                defaults={"reason": SuppressionReason.UNSUBSCRIBED})
        event_append(customer_id=customer.pk, kind="message_unsubscribed",
                     data={"message": message.pk, "channel": message.channel,
                           "origin": message.origin}, channel=message.channel,
                     source="engagement")
