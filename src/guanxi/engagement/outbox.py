"""The outbox: every message is a row (engagement.Message) and its dispatch a durable work
item (`engagement.send`, keyed by the message and attempt). A dispatch runs in three
steps:

1. **decide** (one transaction, the customer's row locked): the send policy at this
   moment; a message not allowed is marked *not sent* with its reason, one in quiet
   hours is *held* with a new work item at the window's end; one allowed is rendered
   with the customer's current data, marked *sending* (it now counts against the cap)
   and given a slot in the channel's rate limit;
2. **send** (no transaction open): the provider, with the message's key;
3. **record** (one transaction): *sent* with the provider's id and a timeline event; a
   temporary failure queues a retry with backoff (the message goes back to *queued*,
   and the policy is asked again); a permanent one marks it *failed* and puts the
   address on the suppression list.

A worker killed during 1 leaves nothing (the item is claimed again); during 2 or before
3 commits leaves the message *sending*: the next claim sends it again with the same key
(providers that take an idempotency key drop the repeat; SMTP cannot — the one window in
which a customer can get an email twice, counted by the benchmark)."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone

from guanxi.core.bulk import insert_objects
from guanxi.core.models import WorkItem
from guanxi.core.work import work_enqueue, work_enqueue_many
from guanxi.customers.models import Customer
from guanxi.engagement import render as rendering
from guanxi.engagement.models import (
    PENDING,
    ChannelSetup,
    Message,
    MessageChannel,
    MessageStatus,
    Purpose,
    Suppression,
    SuppressionReason,
    Template,
    TemplateText,
)
from guanxi.engagement.policy import decide, policy
from guanxi.engagement.providers import Outgoing, provider
from guanxi.timeline.services import event_append

QUEUE = "engagement.send"
RETRIES = (30, 120, 600, 1800, 3600)  # seconds before each retry of a temporary failure


# --- queueing ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Draft:
    """A message to queue: for `customer_id`, from `template` (or a ready `subject` and
    `body` a member of staff wrote), once per `key`."""

    key: str
    customer_id: int
    channel: str
    purpose: str
    origin: str
    origin_id: int | None = None
    template_id: int | None = None
    variant: str = ""
    subject: str = ""
    body: str = ""
    due_at: dt.datetime | None = None
    created_by_id: int | None = None


def queue_messages(drafts: Sequence[Draft]) -> int:
    """Add messages to the outbox (one per key: a key queued before is left alone) with a
    work item each, in the caller's transaction. Returns how many were added."""
    if not drafts:
        return 0
    now = timezone.now()
    with transaction.atomic():
        added = insert_objects(Message, [
            {"key": d.key, "customer_id": d.customer_id, "channel": d.channel,
             "purpose": d.purpose, "template_id": d.template_id, "origin": d.origin,
             "origin_id": d.origin_id, "variant": d.variant, "status": MessageStatus.QUEUED,
             "reason": "", "detail": "", "due_at": d.due_at or now, "address": "",
             "language": "", "subject": d.subject, "body": d.body, "provider": "",
             "provider_id": "", "attempts": 0, "created_by_id": d.created_by_id,
             "created_at": now} for d in drafts], ignore_conflicts=True)
        ids = dict(Message.objects.filter(key__in=[d.key for d in drafts], created_at=now)
                   .values_list("key", "pk"))
        work_enqueue_many(QUEUE, [({"message": ids[d.key]}, f"message:{ids[d.key]}:0",
                                   d.due_at or now) for d in drafts if d.key in ids])
    return added


def queue_message(draft: Draft) -> Message:
    queue_messages([draft])
    return Message.objects.get(key=draft.key)


def cancel(message_ids: Iterable[int]) -> int:
    """Cancel messages that have not gone out (a campaign stopped mid-send)."""
    return Message.objects.filter(pk__in=list(message_ids), status__in=PENDING).update(
        status=MessageStatus.CANCELLED, reason="cancelled")


# --- rendering --------------------------------------------------------------------------

def _language(customer: Customer, template: Template | None) -> str:
    """The customer's language if the template has a text in it, else the business
    default, else any text the template has."""
    wanted = (customer.preferred_language or "").lower()
    default = policy().default_language.lower()
    if template is None:
        return wanted or default
    have = {t.lower(): t for t in template.texts.values_list("language", flat=True)}
    for lang in (wanted, wanted.split("-")[0], default):
        if lang and lang in have:
            return have[lang]
    return next(iter(have.values()), default)


def unsubscribe_url(message: Message) -> str:
    token = signing.dumps({"m": message.pk}, salt="engagement.unsubscribe")
    return f"{settings.GUANXI_PUBLIC_URL}/m/u/{token}"


@dataclass(frozen=True)
class Rendered:
    language: str
    subject: str
    body: str
    html: str = ""
    params: Mapping[str, str] | None = None


def render_message(message: Message, customer: Customer, setup: ChannelSetup | None
                   ) -> Rendered:
    """The message's text for this customer now (raises render.TemplateError)."""
    template = message.template
    language = _language(customer, template)
    context = {"customer": rendering.customer_context(customer, language),
               "business": {"name": settings.GUANXI_BUSINESS_NAME},
               "unsubscribe_url": unsubscribe_url(message)}
    if template is None:
        subject = rendering.render(message.subject, context)
        body = rendering.render(message.body, context)
        html = ""
    else:
        text = TemplateText.objects.get(template=template, language=language)
        subject = rendering.render(text.subject, context)
        body = rendering.render(text.body, context)
        html = rendering.render(text.html, context, html=True) if text.html else ""
    config = setup.config if setup is not None else {}
    if message.channel == MessageChannel.SMS:
        body = rendering.sms_text(body, sign=str(config.get("sign") or ""),
                                  marketing=message.purpose == Purpose.MARKETING)
    if message.channel == MessageChannel.EMAIL and html:
        html = rendering.email_html(html)
        if not body.strip():
            body = rendering.text_from_html(html)
    who: dict[str, Any] = context["customer"]  # type: ignore[assignment]
    return Rendered(language, subject, body, html, {"name": who["salutation"], "text": body})


# --- dispatch ---------------------------------------------------------------------------

def _event(message: Message, kind: str, **data: Any) -> None:
    payload = {"message": message.pk, "channel": message.channel, "purpose": message.purpose,
               "origin": message.origin, **data}
    if message.origin_id is not None:
        payload["origin_id"] = message.origin_id
    event_append(customer_id=message.customer_id, kind=kind, data=payload,
                 channel=message.channel, source="engagement")


def _not_sent(message: Message, reason: str) -> None:
    message.status = MessageStatus.NOT_SENT
    message.reason = reason
    message.save(update_fields=["status", "reason"])
    _event(message, "message_not_sent", reason=reason)


def _reserve_slot(setup: ChannelSetup, now: dt.datetime) -> float:
    """Seconds to wait before calling the provider, so that all workers together stay
    under the channel's messages per second (the next free slot is kept in the channel's
    row, which the dispatch transaction holds locked)."""
    rate = max(1, setup.rate_per_second)
    at = max(setup.next_slot, now.timestamp())
    ChannelSetup.objects.filter(pk=setup.pk).update(next_slot=at + 1.0 / rate)
    return max(0.0, at - now.timestamp())


@dataclass(frozen=True)
class Ready:
    message: Message
    setup: ChannelSetup
    text: Rendered
    wait: float


def _decide(item: WorkItem, ctx: Any) -> Ready | None:
    """Step 1: the policy, in one transaction. Returns what to send, or None."""
    with transaction.atomic():
        ctx.renew()
        message = (Message.objects.select_for_update(of=("self",))
                   .select_related("template").filter(pk=item.payload["message"]).first())
        if message is None or message.status not in (*PENDING, MessageStatus.SENDING):
            return None
        customer = Customer.objects.select_for_update().get(pk=message.customer_id)
        setup = (ChannelSetup.objects.select_for_update()
                 .filter(channel=message.channel).first())
        now = timezone.now()
        if message.status == MessageStatus.SENDING:  # a dispatch that died after deciding
            if setup is None:
                _not_sent(message, "channel_off")
                return None
            # sent again with the same key (and the text of the first try's moment)
            text = Rendered(message.language, message.subject, message.body,
                            _html_again(message, customer, setup))
            return Ready(message, setup, text, _reserve_slot(setup, now))
        if message.due_at > now + dt.timedelta(seconds=1):  # an early wake-up
            _requeue(message, message.due_at, "due")
            return None
        decision = decide(message, customer, setup, now)
        if decision.hold_until is not None:
            message.status = MessageStatus.HELD
            message.reason = decision.reason
            message.due_at = decision.hold_until
            message.save(update_fields=["status", "reason", "due_at"])
            _requeue(message, decision.hold_until, "held")
            return None
        if not decision.send:
            _not_sent(message, decision.reason)
            return None
        assert setup is not None
        try:
            text = render_message(message, customer, setup)
        except (rendering.TemplateError, TemplateText.DoesNotExist) as exc:
            message.detail = str(exc)[:300]
            _not_sent(message, "template")
            return None
        message.status = MessageStatus.SENDING
        message.reason = ""
        message.address = decision.address
        message.language, message.subject, message.body = text.language, text.subject, text.body
        message.provider = setup.provider
        message.sent_at = now
        message.attempts += 1
        message.save(update_fields=["status", "reason", "address", "language", "subject",
                                    "body", "provider", "sent_at", "attempts"])
        return Ready(message, setup, text, _reserve_slot(setup, now))


def _html_again(message: Message, customer: Customer, setup: ChannelSetup) -> str:
    """An email's HTML is not stored (it is big); a resent one is rendered again."""
    if message.channel != MessageChannel.EMAIL or message.template is None:
        return ""
    try:
        return render_message(message, customer, setup).html
    except (rendering.TemplateError, TemplateText.DoesNotExist):
        return ""


def _requeue(message: Message, at: dt.datetime, why: str) -> None:
    n = message.attempts
    work_enqueue(QUEUE, {"message": message.pk}, run_after=at,
                 key=f"message:{message.pk}:{why}:{n}:{int(at.timestamp())}")


def message_id(key: str, sender: str = "") -> str:
    """The email Message-ID of a message key (RFC 5322 dot-atom: ':' becomes '.'), at
    the sender's domain."""
    domain = (sender or settings.DEFAULT_FROM_EMAIL).rpartition("@")[2] or "guanxi.local"
    local = re.sub(r"[^A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]", "-", key.replace(":", "."))
    return f"<{local}@{domain}>"


def _outgoing(message: Message, text: Rendered, config: Mapping[str, Any]) -> Outgoing:
    headers: dict[str, str] = {}
    if message.channel == MessageChannel.EMAIL and message.purpose != Purpose.TRANSACTIONAL:
        # RFC 2369 + RFC 8058: mail programs show an unsubscribe button that POSTs here
        headers["List-Unsubscribe"] = f"<{unsubscribe_url(message)}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    html = text.html
    if html:
        from guanxi.engagement.tracking import track_html

        html = track_html(message, html)
    return Outgoing(key=message.key, channel=message.channel, address=message.address,
                    subject=message.subject, body=message.body, html=html,
                    params=dict(text.params or {"text": message.body}),
                    provider_template=message.template.provider_template
                    if message.template else "",
                    headers=headers,
                    message_id=message_id(message.key, str(config.get("from_email") or "")))


def send_work(item: WorkItem, ctx: Any) -> dict[str, Any]:
    """The `engagement.send` handler (not atomic: the provider is called outside any
    transaction)."""
    ready = _decide(item, ctx)
    if ready is None:
        return {"sent": False}
    message, setup = ready.message, ready.setup
    if ready.wait:
        time.sleep(min(ready.wait, 30.0))
    outcome = provider(setup.provider).send(_outgoing(message, ready.text, setup.config),
                                               setup.config)
    now = timezone.now()
    with transaction.atomic():
        ctx.renew()
        if outcome.ok:
            Message.objects.filter(pk=message.pk).update(
                status=MessageStatus.SENT, provider_id=outcome.provider_id[:120], detail="")
            _event(message, "message_sent")
            return {"sent": True}
        if outcome.permanent:
            Message.objects.filter(pk=message.pk).update(
                status=MessageStatus.FAILED, reason="invalid", detail=outcome.error[:300])
            Suppression.objects.get_or_create(
                channel=message.channel, address=message.address,
                defaults={"reason": SuppressionReason.INVALID, "note": outcome.error[:200]})
            _event(message, "message_failed", reason="invalid")
            return {"sent": False, "permanent": True}
        if message.attempts > len(RETRIES):
            Message.objects.filter(pk=message.pk).update(
                status=MessageStatus.FAILED, reason="gave_up", detail=outcome.error[:300])
            _event(message, "message_failed", reason="gave_up")
            return {"sent": False}
        at = now + dt.timedelta(seconds=RETRIES[message.attempts - 1])
        Message.objects.filter(pk=message.pk).update(
            status=MessageStatus.QUEUED, due_at=at, sent_at=None, detail=outcome.error[:300])
        _requeue(message, at, "retry")
    return {"sent": False, "retry": at.isoformat()}


def suppress(channel: str, address: str, reason: str, note: str = "") -> None:
    Suppression.objects.update_or_create(channel=channel, address=address,
                                         defaults={"reason": reason, "note": note[:200]})
