"""The outbox: every message is a row (engagement.Message) and its dispatch durable work
(`engagement.send`; one work item carries up to BATCH messages due at the same moment —
a campaign's — or one message). A dispatch runs in three steps:

1. **decide** (one transaction, the messages' customers' rows locked): the send policy at
   this moment for each message, its facts read for the whole batch at once; a message
   not allowed is marked *not sent* with its reason, one in quiet hours is *held* with a
   new work item at the window's end; one allowed is rendered with the customer's
   current data, marked *sending* (it now counts against the cap) and given a slot in
   the channel's rate limit;
2. **send** (no transaction open): the provider, with the message's key, one message at
   a time;
3. **record** (one small transaction per message, right after the provider answers):
   *sent* with the provider's id and a timeline event; a temporary failure queues a
   retry with backoff (the message goes back to *queued*, and the policy is asked
   again); a permanent one marks it *failed* and puts the address on the suppression
   list.

A worker killed during 1 leaves nothing (the item is claimed again); during 2 or before
3 commits leaves that one message *sending* (the batch's others are recorded or still
unsent): the next claim sends it again with the same key (providers that take an
idempotency key drop the repeat; SMTP cannot — the one window in which a customer can
get an email twice, counted by the benchmark)."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import connection, transaction
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
    TemplateText,
)
from guanxi.engagement.policy import decide_many, policy
from guanxi.engagement.providers import Outgoing, provider
from guanxi.timeline.services import event_append

QUEUE = "engagement.send"
RETRIES = (30, 120, 600, 1800, 3600)  # seconds before each retry of a temporary failure
BATCH = 50         # messages dispatched by one work item (decided together, sent in turn)
MAX_WAIT_S = 20.0  # a batch takes no more of a channel's rate limit than this many seconds
RENEW_S = 15.0     # the lease is renewed this often while a batch is being sent


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
        # one work item per BATCH messages due at the same moment (a campaign's), each
        # message in exactly one item
        groups: dict[dt.datetime, list[int]] = {}
        for d in drafts:
            if d.key in ids:
                groups.setdefault(d.due_at or now, []).append(ids[d.key])
        work_enqueue_many(QUEUE, [
            ({"messages": part}, f"message:{part[0]}:0", at)
            for at, group in groups.items()
            for part in (group[i:i + BATCH] for i in range(0, len(group), BATCH))])
    return added


def queue_message(draft: Draft) -> Message:
    queue_messages([draft])
    return Message.objects.get(key=draft.key)


# --- rendering --------------------------------------------------------------------------

def _language(customer: Customer, languages: Iterable[str], default: str) -> str:
    """The customer's language if the template has a text in it, else the business
    default, else any text the template has."""
    wanted = (customer.preferred_language or "").lower()
    have = {t.lower(): t for t in languages}
    if not have:
        return wanted or default.lower()
    for lang in (wanted, wanted.split("-")[0], default.lower()):
        if lang and lang in have:
            return have[lang]
    return next(iter(have.values()))


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


def render_message(message: Message, customer: Customer, setup: ChannelSetup | None,
                   texts: Mapping[str, TemplateText] | None = None,
                   default_language: str | None = None) -> Rendered:
    """The message's text for this customer now (raises render.TemplateError). `texts`
    (the template's texts by language) and `default_language` may be given by a caller
    rendering many."""
    template = message.template
    if template is not None and texts is None:
        texts = {t.language: t for t in template.texts.all()}
    default = default_language or policy().default_language
    language = _language(customer, texts or {}, default)
    context = {"customer": rendering.customer_context(customer, language),
               "business": {"name": settings.GUANXI_BUSINESS_NAME},
               "unsubscribe_url": unsubscribe_url(message)}
    if template is None:
        subject = rendering.render(message.subject, context)
        body = rendering.render(message.body, context)
        context.update(rendering.extra_context(customer, (message.subject, message.body)))
        html = ""
    else:
        if not texts or language not in texts:
            raise TemplateText.DoesNotExist(language)
        text = texts[language]
        context.update(rendering.extra_context(customer, (text.subject, text.body,
                                                          text.html)))
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


@dataclass(frozen=True)
class Ready:
    message: Message
    setup: ChannelSetup
    text: Rendered
    wait: float  # seconds after the decision until its slot in the channel's rate limit


def _message_ids(payload: Mapping[str, Any]) -> list[int]:
    return [int(x) for x in payload.get("messages") or [payload["message"]]]


def _decide(item: WorkItem, ctx: Any) -> list[Ready]:
    """Step 1: the policy for the item's messages, in one transaction. Returns what to
    send, in order, each with its slot in the channel's rate limit."""
    with transaction.atomic():
        ctx.renew()
        messages = list(Message.objects.select_for_update(of=("self",))
                        .select_related("template")
                        .filter(pk__in=_message_ids(item.payload),
                                status__in=(*PENDING, MessageStatus.SENDING)).order_by("pk"))
        if not messages:
            return []
        customers = {c.pk: c for c in Customer.objects.select_for_update().filter(
            pk__in={m.customer_id for m in messages}).order_by("pk")}
        setups = {s.channel: s for s in ChannelSetup.objects.select_for_update().filter(
            channel__in={m.channel for m in messages}).order_by("channel")}
        now = timezone.now()
        rules = policy()
        texts: dict[int, dict[str, TemplateText]] = {}
        for row in TemplateText.objects.filter(
                template_id__in={m.template_id for m in messages if m.template_id}):
            texts.setdefault(row.template_id, {})[row.language] = row
        again, fresh, early = [], [], []
        for m in messages:
            if m.status == MessageStatus.SENDING:  # a dispatch that died after deciding
                again.append(m)
            elif m.due_at > now + dt.timedelta(seconds=1):  # an early wake-up
                early.append(m)
            else:
                fresh.append(m)
        for m in early:
            _requeue([m], m.due_at, "due")
        # no more of each channel's rate than MAX_WAIT_S: the rest in a later item
        room = {c: max(1, int(s.rate_per_second * MAX_WAIT_S)) for c, s in setups.items()}
        taken: dict[str, int] = {}
        later: list[Message] = []
        for m in [*again, *fresh]:
            taken[m.channel] = taken.get(m.channel, 0) + 1
            if m.channel in room and taken[m.channel] > room[m.channel]:
                later.append(m)
        if later:
            skip = {m.pk for m in later}
            again = [m for m in again if m.pk not in skip]
            fresh = [m for m in fresh if m.pk not in skip]
            _requeue(later, now + dt.timedelta(seconds=MAX_WAIT_S), "later")
        go: list[tuple[Message, Rendered]] = []
        for m in again:
            if m.channel not in setups:
                _not_sent(m, "channel_off")
                continue
            # sent again with the same key (and the text of the first try's moment)
            go.append((m, Rendered(m.language, m.subject, m.body,
                                   _html_again(m, customers[m.customer_id],
                                               setups[m.channel]))))
        decisions = decide_many(fresh, customers, setups, now, rules)
        held: dict[dt.datetime, list[Message]] = {}
        sending: list[Message] = []
        for m in fresh:
            decision = decisions[m.pk]
            if decision.hold_until is not None:
                m.status, m.reason, m.due_at = (MessageStatus.HELD, decision.reason,
                                                decision.hold_until)
                m.save(update_fields=["status", "reason", "due_at"])
                held.setdefault(decision.hold_until, []).append(m)
                continue
            if not decision.send:
                _not_sent(m, decision.reason)
                continue
            setup = setups[m.channel]
            try:
                rendered = render_message(m, customers[m.customer_id], setup,
                                          texts.get(m.template_id or 0, {}),
                                          rules.default_language)
            except (rendering.TemplateError, TemplateText.DoesNotExist) as exc:
                m.detail = str(exc)[:300]
                _not_sent(m, "template")
                continue
            m.status, m.reason, m.address = MessageStatus.SENDING, "", decision.address
            m.language, m.subject, m.body = rendered.language, rendered.subject, rendered.body
            m.provider, m.sent_at, m.attempts = setup.provider, now, m.attempts + 1
            sending.append(m)
            go.append((m, rendered))
        _mark_sending(sending)
        for until, group in held.items():
            _requeue(group, until, "held")
        return _slots(go, setups, now)


def _mark_sending(messages: Sequence[Message]) -> None:
    """Save the decided messages in one statement run for each (bulk_update's CASE
    expressions cost more than the dispatch itself)."""
    if not messages:
        return
    table = Message._meta.db_table
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET status = %s, reason = %s, address = %s, language = %s, "
            "subject = %s, body = %s, provider = %s, sent_at = %s, attempts = %s "
            "WHERE id = %s",
            [(m.status, m.reason, m.address, m.language, m.subject, m.body, m.provider,
              adapt(m.sent_at), m.attempts, m.pk) for m in messages])


def _slots(go: Sequence[tuple[Message, Rendered]], setups: Mapping[str, ChannelSetup],
           now: dt.datetime) -> list[Ready]:
    """When each message may go, so that all workers together stay under each channel's
    messages per second (the next free slot is kept in the channel's row, which the
    dispatch transaction holds locked)."""
    nxt: dict[str, float] = {}
    out = []
    for m, text in go:
        setup = setups[m.channel]
        at = nxt.get(m.channel, max(setup.next_slot, now.timestamp()))
        nxt[m.channel] = at + 1.0 / max(1, setup.rate_per_second)
        out.append(Ready(m, setup, text, max(0.0, at - now.timestamp())))
    for channel, slot in nxt.items():
        ChannelSetup.objects.filter(pk=setups[channel].pk).update(next_slot=slot)
    return out


def _html_again(message: Message, customer: Customer, setup: ChannelSetup) -> str:
    """An email's HTML is not stored (it is big); a resent one is rendered again."""
    if message.channel != MessageChannel.EMAIL or message.template is None:
        return ""
    try:
        return render_message(message, customer, setup).html
    except (rendering.TemplateError, TemplateText.DoesNotExist):
        return ""


def _requeue(messages: Sequence[Message], at: dt.datetime, why: str) -> None:
    ids = [m.pk for m in messages]
    for i in range(0, len(ids), BATCH):
        part = ids[i:i + BATCH]
        n = messages[i].attempts
        work_enqueue(QUEUE, {"messages": part}, run_after=at,
                     key=f"message:{part[0]}:{why}:{n}:{int(at.timestamp())}")


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
    transaction). Each message's outcome is recorded as soon as the provider answers, so
    a worker killed mid-batch resends at most the one message it was sending."""
    ready = _decide(item, ctx)
    decided = renewed = time.monotonic()
    sent = 0
    for r in ready:
        wait = decided + r.wait - time.monotonic()
        if wait > 0:
            time.sleep(min(wait, MAX_WAIT_S + 10))
        outcome = provider(r.setup.provider).send(
            _outgoing(r.message, r.text, r.setup.config), r.setup.config)
        renew = time.monotonic() - renewed > RENEW_S
        sent += _record(r.message, outcome, ctx if renew else None)
        if renew:
            renewed = time.monotonic()
    return {"sent": sent, "messages": len(ready)}


def _record(message: Message, outcome: Any, ctx: Any) -> int:
    """Step 3 for one message: only a message still *sending* is recorded (a message
    another worker took over and recorded first is left alone)."""
    now = timezone.now()
    mine = Message.objects.filter(pk=message.pk, status=MessageStatus.SENDING)
    with transaction.atomic():
        if ctx is not None:
            ctx.renew()
        if outcome.ok:
            if mine.update(status=MessageStatus.SENT, provider_id=outcome.provider_id[:120],
                           detail=""):
                _event(message, "message_sent")
                return 1
            return 0
        if outcome.permanent:
            if mine.update(status=MessageStatus.FAILED, reason="invalid",
                           detail=outcome.error[:300]):
                Suppression.objects.get_or_create(
                    channel=message.channel, address=message.address,
                    defaults={"reason": SuppressionReason.INVALID,
                              "note": outcome.error[:200]})
                _event(message, "message_failed", reason="invalid")
            return 0
        if message.attempts > len(RETRIES):
            if mine.update(status=MessageStatus.FAILED, reason="gave_up",
                           detail=outcome.error[:300]):
                _event(message, "message_failed", reason="gave_up")
            return 0
        at = now + dt.timedelta(seconds=RETRIES[message.attempts - 1])
        if mine.update(status=MessageStatus.QUEUED, due_at=at, sent_at=None,
                       detail=outcome.error[:300]):
            _requeue([message], at, "retry")
    return 0


def suppress(channel: str, address: str, reason: str, note: str = "") -> None:
    Suppression.objects.update_or_create(channel=channel, address=address,
                                         defaults={"reason": reason, "note": note[:200]})
