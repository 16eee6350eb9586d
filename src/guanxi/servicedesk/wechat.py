"""The WeChat official account's message callback (服务器配置, plaintext mode).

WeChat signs every call: signature = SHA-1 of the sorted (token, timestamp, nonce)
joined; a call whose signature does not match, or whose timestamp is more than
MAX_SKEW_S away, is refused before its body is read. The first GET echoes `echostr`.

A text message from a follower: if they have a ticket still open that came by WeChat, it
is added to it; otherwise the FAQ bot answers (a passive reply, within WeChat's 5
seconds) and, when it does not know or the follower asks for a person or complains, a
ticket is opened with the conversation. Followers are matched to customers by OpenID
(new ones become customers marked as new contacts)."""

from __future__ import annotations

import hashlib
import hmac
import time
import xml.etree.ElementTree as ET
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import override

from guanxi.servicedesk import contacts, kb, services
from guanxi.servicedesk.models import ACTIVE, Channel, Conversation, Ticket

MAX_SKEW_S = 300
MAX_BODY = 64 * 1024


def signature(token: str, timestamp: str, nonce: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()  # noqa: S324 - WeChat's scheme


def verified(token: str, params: Any, now: float | None = None) -> bool:
    if not token:
        return False
    timestamp, nonce = str(params.get("timestamp", "")), str(params.get("nonce", ""))
    given = str(params.get("signature", ""))
    try:
        skew = abs((now or time.time()) - int(timestamp))
    except ValueError:
        return False
    return skew <= MAX_SKEW_S and hmac.compare_digest(signature(token, timestamp, nonce),
                                                      given)


def _reply(to: str, from_: str, text: str) -> str:
    def cdata(v: str) -> str:
        return "<![CDATA[" + v.replace("]]>", "]]]]><![CDATA[>") + "]]>"

    return (f"<xml><ToUserName>{cdata(to)}</ToUserName><FromUserName>{cdata(from_)}"
            f"</FromUserName><CreateTime>{int(time.time())}</CreateTime>"
            f"<MsgType>{cdata('text')}</MsgType><Content>{cdata(text)}</Content></xml>")


def handle(body: bytes) -> str:
    """The passive reply to one message ("success": nothing to say)."""
    root = ET.fromstring(body[:MAX_BODY])  # noqa: S314 - signed by WeChat
    field = {child.tag: (child.text or "") for child in root}
    openid, account = field.get("FromUserName", ""), field.get("ToUserName", "")
    if field.get("MsgType") != "text" or not openid:
        return "success"
    text = field.get("Content", "").strip()[:2000]
    if not text:
        return "success"
    customer, _created = contacts.customer_for_contact(
        contacts.Contact(wechat_openid=openid), Channel.WECHAT)
    msg_id = f"wechat:{field.get('MsgId', '')}" if field.get("MsgId") else ""
    ticket = (Ticket.objects.filter(customer=customer, channel=Channel.WECHAT,
                                    status__in=ACTIVE).order_by("-pk").first())
    language = customer.preferred_language or "zh-hans"
    with override(language):
        if ticket is not None:
            services.customer_wrote(ticket=ticket, body=text, channel=Channel.WECHAT,
                                    message_id=msg_id)
            return _reply(openid, account, _("Received: we will answer you here."))
        conversation = (Conversation.objects.filter(customer=customer, ticket__isnull=True,
                                                    channel=Channel.WECHAT)
                        .order_by("-pk").first())
        answer = kb.ask(text, language if language in ("zh-hans", "en") else "zh-hans",
                        conversation=conversation, channel=Channel.WECHAT, customer=customer)
        if answer["answer"] and not answer["handoff"]:
            return _reply(openid, account, answer["answer"][:600])
        opened = kb.handoff(conversation=kb.conversation_for(answer["conversation"]),
                            customer=customer, channel=Channel.WECHAT, message_id=msg_id)
        return _reply(openid, account, _("Thank you. A member of our team will answer you "
                                         "here (request #%(id)d).") % {"id": opened.pk})
