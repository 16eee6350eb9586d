"""What providers report back: delivery reports and replies from Aliyun and Tencent Cloud
SMS (POSTed to /m/sms/<callback token>/report and /reply), and django-anymail's tracking
events of email services (delivered, bounced, complained, unsubscribed, opened, clicked).
Each lands on the message and the customer's timeline; a reply "T", "TD", "N", "退订" or
"STOP" withdraws SMS marketing consent (the Chinese carriers' rule)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from guanxi.customers.models import Customer, Identity, IdentityKind
from guanxi.customers.services import consent_set_by_customer
from guanxi.engagement import tracking
from guanxi.engagement.models import (
    ChannelSetup,
    Message,
    MessageStatus,
    Purpose,
    SuppressionReason,
)
from guanxi.engagement.outbox import suppress
from guanxi.timeline.services import event_append

STOP_WORDS = {"T", "TD", "N", "STOP", "退订", "退", "取消", "UNSUBSCRIBE"}


def sms_setup_for(token: str) -> ChannelSetup | None:
    """The SMS channel whose callback token this is (constant-time compare)."""
    import hmac

    setup = ChannelSetup.objects.filter(channel="sms").first()
    expected = str((setup.config if setup else {}).get("callback_token") or "")
    if setup is None or not expected or not hmac.compare_digest(expected, token):
        return None
    return setup


def _event(message: Message, kind: str, **data: Any) -> None:
    payload: dict[str, Any] = {"message": message.pk, "channel": message.channel,
                               "purpose": message.purpose, "origin": message.origin, **data}
    if message.origin_id is not None:
        payload["origin_id"] = message.origin_id
    event_append(customer_id=message.customer_id, kind=kind, data=payload,
                 channel=message.channel, source="engagement")


def delivered(message: Message) -> None:
    with transaction.atomic():
        if Message.objects.filter(pk=message.pk, status=MessageStatus.SENT).update(
                status=MessageStatus.DELIVERED, delivered_at=timezone.now()):
            _event(message, "message_delivered")


def bounced(message: Message, *, hard: bool, reason: str) -> None:
    with transaction.atomic():
        Message.objects.filter(pk=message.pk).update(status=MessageStatus.BOUNCED,
                                                     detail=reason[:300])
        if hard and message.address:
            suppress(message.channel, message.address, SuppressionReason.HARD_BOUNCE, reason)
        _event(message, "message_failed", reason="bounced")


def complained(message: Message) -> None:
    """Marked as spam: no more marketing to this address, consent withdrawn."""
    with transaction.atomic():
        if message.address:
            suppress(message.channel, message.address, SuppressionReason.COMPLAINT)
        customer = Customer.objects.filter(pk=message.customer_id,
                                           erased_at__isnull=True).first()
        if customer is not None:
            consent_set_by_customer(customer=customer, channel=message.channel,
                                    purpose=Purpose.MARKETING, granted=False,
                                    source="spam complaint", proof=f"message {message.key}")
        _event(message, "message_unsubscribed", reason="complaint")


# --- SMS --------------------------------------------------------------------------------

def _message_for_report(row: Mapping[str, Any]) -> Message | None:
    key = str(row.get("out_id") or "")
    provider_id = str(row.get("biz_id") or row.get("sid") or "")
    if key:
        found = Message.objects.filter(key=key, channel="sms").first()
        if found:
            return found
    if provider_id:
        return Message.objects.filter(provider_id=provider_id, channel="sms").first()
    return None


def sms_reports(rows: Iterable[Mapping[str, Any]]) -> int:
    """Aliyun SmsReport rows ({biz_id, out_id, success, err_code}) or Tencent status rows
    ({sid, report_status, errmsg}). Returns how many found their message."""
    found = 0
    for row in rows:
        message = _message_for_report(row)
        if message is None:
            continue
        found += 1
        ok = row.get("success") is True or str(row.get("report_status", "")).upper() == \
            "SUCCESS"
        if ok:
            delivered(message)
        else:
            reason = str(row.get("err_code") or row.get("errmsg") or "undelivered")
            bounced(message, hard=False, reason=reason)
    return found


def _phone(raw: str, nation: str = "86") -> str:
    digits = re.sub(r"\D", "", raw)
    if raw.startswith("+"):
        return f"+{digits}"
    if nation == "86" and len(digits) == 11:
        return f"+86{digits}"
    return f"+{nation}{digits}"


def sms_replies(rows: Iterable[Mapping[str, Any]]) -> int:
    """Aliyun SmsUp rows ({phone_number, content}) or Tencent replies ({mobile,
    nationcode, text}). A stop word withdraws SMS marketing consent of every customer
    with that number and puts it on the suppression list; other replies go on the
    timeline. Returns how many customers unsubscribed."""
    stopped = 0
    for row in rows:
        phone = _phone(str(row.get("phone_number") or row.get("mobile") or ""),
                       str(row.get("nationcode") or "86"))
        text = str(row.get("content") or row.get("text") or "").strip()
        customers = Customer.objects.filter(
            erased_at__isnull=True, pk__in=Identity.objects.filter(
                kind=IdentityKind.PHONE, value=phone).values("customer_id"))
        with transaction.atomic():
            if text.upper() in STOP_WORDS:
                suppress("sms", phone, SuppressionReason.UNSUBSCRIBED, f"reply {text}")
                for customer in customers:
                    consent_set_by_customer(customer=customer, channel="sms",
                                            purpose=Purpose.MARKETING, granted=False,
                                            source=f"SMS reply {text}", proof=text)
                    event_append(customer_id=customer.pk, kind="message_unsubscribed",
                                 data={"channel": "sms", "reason": "reply"}, channel="sms",
                                 source="engagement")
                    stopped += 1
            else:
                for customer in customers:
                    event_append(customer_id=customer.pk, kind="message_reply",
                                 data={"channel": "sms", "text": text[:500]}, channel="sms",
                                 source="engagement")
    return stopped


# --- email services (django-anymail) ----------------------------------------------------

def anymail_tracking(event: Any) -> None:
    """Receiver of anymail.signals.tracking."""
    message = None
    key = (event.metadata or {}).get("guanxi_key")
    if key:
        message = Message.objects.filter(key=key).first()
    if message is None and event.message_id:
        message = Message.objects.filter(provider_id=str(event.message_id)).first()
    if message is None:
        return
    kind = event.event_type
    if kind == "delivered":
        delivered(message)
    elif kind in ("bounced", "rejected", "failed"):
        bounced(message, hard=kind != "failed" and event.reject_reason in (
            "bounced", "invalid", "blocked", None), reason=str(event.description or kind))
    elif kind == "complained":
        complained(message)
    elif kind == "unsubscribed":
        from guanxi.engagement.services import unsubscribe

        unsubscribe(message, source=f"{message.provider} unsubscribe")
    elif kind == "opened":
        tracking.record_open(message)
    elif kind == "clicked":
        tracking.record_click(message, str(event.click_url or ""))
