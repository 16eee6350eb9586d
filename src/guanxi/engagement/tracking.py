"""Opens, clicks and unsubscribes. Links in an email's HTML go through /m/c/<token>, where
the token is signed and carries the message and the link (so the redirect goes only to
where the message pointed: no open redirect); an open is a 1×1 image /m/o/<token>.gif.
Prefetches and bots are not counted: requests from link scanners and mail-privacy
proxies that fetch everything, HEAD requests, and anything within a few seconds of the
send (a person cannot read that fast)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone

from guanxi.engagement.models import Message, MessageStatus
from guanxi.timeline.services import event_append

CLICK_SALT = "engagement.click"
OPEN_SALT = "engagement.open"
HUMAN_AFTER = dt.timedelta(seconds=3)
_BOTS = re.compile(r"bot|crawl|spider|preview|prefetch|scanner|barracuda|proofpoint|"
                   r"mimecast|safelinks|urldefense|python-|curl/|wget|headless|"
                   r"Microsoft Office|YahooMailProxy", re.I)
_LINK = re.compile(r"(<a\b[^>]*?\bhref=\")(https?://[^\"]+)(\")", re.I)


def click_url(message: Message, url: str) -> str:
    token = signing.dumps({"m": message.pk, "u": url}, salt=CLICK_SALT, compress=True)
    return f"{settings.GUANXI_PUBLIC_URL}/m/c/{token}"


def open_url(message: Message) -> str:
    return f"{settings.GUANXI_PUBLIC_URL}/m/o/{signing.dumps(message.pk, salt=OPEN_SALT)}.gif"


def track_html(message: Message, html: str) -> str:
    """Links rewritten for click tracking (the unsubscribe link is left alone) and the
    open pixel added at the end of the body."""
    def swap(match: re.Match[str]) -> str:
        url = match.group(2).replace("&amp;", "&")
        if "/m/u/" in url:
            return match.group(0)
        return f"{match.group(1)}{click_url(message, url)}{match.group(3)}"

    tracked = _LINK.sub(swap, html)
    pixel = f'<img src="{open_url(message)}" width="1" height="1" alt="" style="border:0">'
    if "</body>" in tracked:
        return tracked.replace("</body>", f"{pixel}</body>", 1)
    return tracked + pixel


def is_machine(request: Any, message: Message) -> bool:
    agent = request.META.get("HTTP_USER_AGENT", "")
    if request.method == "HEAD" or not agent or _BOTS.search(agent):
        return True
    return message.sent_at is not None and timezone.now() - message.sent_at < HUMAN_AFTER


def record_open(message: Message) -> bool:
    """The first open of a message (later ones are not counted again)."""
    with transaction.atomic():
        if not Message.objects.filter(pk=message.pk, opened_at__isnull=True).update(
                opened_at=timezone.now()):
            return False
        _advance(message, MessageStatus.DELIVERED)
        event_append(customer_id=message.customer_id, kind="message_opened",
                     data=_data(message), channel=message.channel, source="engagement")
    return True


def record_click(message: Message, url: str) -> bool:
    """A click (the first counts as the click; an unrecorded open is implied)."""
    now = timezone.now()
    with transaction.atomic():
        first = Message.objects.filter(pk=message.pk, clicked_at__isnull=True).update(
            clicked_at=now)
        Message.objects.filter(pk=message.pk, opened_at__isnull=True).update(opened_at=now)
        _advance(message, MessageStatus.DELIVERED)
        event_append(customer_id=message.customer_id, kind="message_clicked",
                     data={**_data(message), "url": url[:500]}, channel=message.channel,
                     source="engagement")
    return bool(first)


def _advance(message: Message, status: str) -> None:
    Message.objects.filter(pk=message.pk, status=MessageStatus.SENT).update(
        status=status, delivered_at=timezone.now())


def _data(message: Message) -> dict[str, Any]:
    data: dict[str, Any] = {"message": message.pk, "channel": message.channel,
                            "purpose": message.purpose, "origin": message.origin}
    if message.origin_id is not None:
        data["origin_id"] = message.origin_id
    return data
