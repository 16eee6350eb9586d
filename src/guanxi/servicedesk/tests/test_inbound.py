"""Inbound mail: the corpus of real-world shaped mails threads 100%; automatic replies
never reopen; bounces and strangers quoting a ticket number are kept off tickets; the
SMTP receiver files mail sent to it over a real SMTP connection."""

from __future__ import annotations

import smtplib
import socket

import pytest

from guanxi.servicedesk import inbound, services
from guanxi.servicedesk.models import Attachment, Status, Ticket, TicketMessage
from guanxi.servicedesk.tests import mailcorpus

pytestmark = pytest.mark.django_db


def _opened_and_replied(n: int, personas) -> tuple[Ticket, str, str]:
    sender = f"buyer{n}@qq.example"
    outcome = inbound.receive(mailcorpus.first(n, sender))
    assert outcome.action == "opened", outcome
    ticket = Ticket.objects.get(pk=outcome.ticket_id)
    services.ticket_reply(actor=personas.service, ticket=ticket, body="您好，已为您催促仓库。")
    reply = TicketMessage.objects.get(ticket=ticket, kind="reply")
    assert reply.message_id
    return ticket, sender, reply.message_id


def test_the_corpus_threads_completely(desk, personas):
    ticket, sender, reply_id = _opened_and_replied(1, personas)
    assert ticket.subject == "订单1没有发货" and ticket.customer.display_name == "客户1"
    first = ticket.messages.get(kind="customer")
    assert "五天没有发货" in first.body
    threaded = 0
    expected = 0
    for raw, expect in mailcorpus.replies(1, sender, reply_id, ticket.pk):
        before = Ticket.objects.get(pk=ticket.pk).status
        outcome = inbound.receive(raw)
        expected += 1
        assert outcome.ticket_id == ticket.pk, (expect.style, outcome)
        threaded += 1
        message = TicketMessage.objects.filter(ticket=ticket).order_by("-pk").first()
        if expect.text:
            assert expect.text in message.body, (expect.style, message.body)
        if expect.not_text:
            assert expect.not_text not in message.body, (expect.style, message.body)
        if expect.attachments:
            assert message.attachments.count() == expect.attachments
            assert message.attachments.get().name == "发票.pdf"
        after = Ticket.objects.get(pk=ticket.pk).status
        if expect.what == "auto":
            assert after == before, expect.style
        else:
            assert after == Status.OPEN, expect.style
            # the agent answers again, so the next mail has something to reopen
            services.ticket_reply(actor=personas.service, ticket=ticket, body="好的。")
    assert threaded == expected == len(mailcorpus.STYLES) + 1
    assert Ticket.objects.count() == 1


def test_duplicates_bounces_strangers_and_lone_auto_replies(desk, personas):
    ticket, sender, _reply_id = _opened_and_replied(2, personas)
    raw = mailcorpus.first(2, sender)
    assert inbound.receive(raw).ticket_id == ticket.pk  # the same Message-ID again
    assert TicketMessage.objects.filter(ticket=ticket, kind="customer").count() == 1
    assert inbound.receive(mailcorpus.bounce(2)).action == "ignored"
    stranger = inbound.receive(mailcorpus.stranger_with_token(2, ticket.pk))
    assert stranger.action == "opened" and stranger.ticket_id != ticket.pk
    lone_auto, _e = mailcorpus.STYLES[6](3, "someone@example.net", "<unknown@x>")
    assert inbound.receive(lone_auto).action == "ignored"
    assert Ticket.objects.count() == 2


def test_reply_to_a_closed_ticket_opens_a_follow_up(desk, personas):
    ticket, sender, reply_id = _opened_and_replied(4, personas)
    services.ticket_set_status(actor=personas.service, ticket=ticket, status="closed")
    raw, _expect = mailcorpus.STYLES[1](4, sender, reply_id)
    outcome = inbound.receive(raw)
    assert outcome.action == "opened" and outcome.ticket_id != ticket.pk


def test_html_to_text_and_quote_stripping():
    assert inbound.html_to_text("<p>你好<br>世界</p><script>x()</script>") == "你好\n世界"
    assert inbound.strip_quoted("新内容\n\n-----原始邮件-----\n旧内容") == "新内容"


@pytest.mark.django_db(transaction=True)
def test_the_smtp_receiver_files_mail(desk, personas):
    from guanxi.servicedesk.smtpd import start

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = start("127.0.0.1", port, accept=("longjing.example",))
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            smtp.sendmail("buyer9@qq.example", ["support@longjing.example"],
                          mailcorpus.first(9, "buyer9@qq.example"))
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                smtp.sendmail("buyer9@qq.example", ["someone@else.example"],
                              mailcorpus.first(10, "buyer9@qq.example"))
    finally:
        controller.stop()
    ticket = Ticket.objects.get()
    assert ticket.channel == "email" and ticket.subject == "订单9没有发货"
    assert not Attachment.objects.exists()


def _signed(token: str, **extra) -> str:
    import time as _time

    from guanxi.servicedesk.wechat import signature

    ts, nonce = str(int(_time.time())), "n0nce"
    params = {"timestamp": ts, "nonce": nonce, "signature": signature(token, ts, nonce),
              **extra}
    return "&".join(f"{k}={v}" for k, v in params.items())


def _xml(openid: str, text: str, msg_id: int) -> bytes:
    return (f"<xml><ToUserName><![CDATA[gh_shop]]></ToUserName><FromUserName><![CDATA["
            f"{openid}]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType>"
            f"<![CDATA[text]]></MsgType><Content><![CDATA[{text}]]></Content><MsgId>"
            f"{msg_id}</MsgId></xml>").encode()


def test_wechat_callback_checks_the_signature_and_files_messages(client, desk, personas):
    from guanxi.servicedesk import kb
    from guanxi.servicedesk.clocks import desk_settings

    s = desk_settings()
    s.wechat_token = "tok3n"
    s.save()
    assert client.get(f"/help/wechat?{_signed('tok3n', echostr='hello')}").content == b"hello"
    assert client.get(f"/help/wechat?{_signed('wrong', echostr='x')}").status_code == 403
    bad = client.post(f"/help/wechat?{_signed('wrong')}", _xml("oA1", "你好", 1),
                      content_type="text/xml")
    assert bad.status_code == 403 and not Ticket.objects.exists()
    kb.article_save(actor=personas.manager, title="退货政策", body="七天无理由退货。",
                    language="zh-hans", questions=["怎么退货", "可以退货吗"], publish=True)
    answered = client.post(f"/help/wechat?{_signed('tok3n')}", _xml("oA1", "怎么退货", 2),
                           content_type="text/xml")
    assert "七天无理由退货" in answered.content.decode() and not Ticket.objects.exists()
    handed = client.post(f"/help/wechat?{_signed('tok3n')}", _xml("oA1", "我要转人工", 3),
                         content_type="text/xml")
    ticket = Ticket.objects.get()
    assert ticket.channel == "wechat" and f"#{ticket.pk}" in handed.content.decode()
    assert "怎么退货" in ticket.messages.get().body  # the transcript
    client.post(f"/help/wechat?{_signed('tok3n')}", _xml("oA1", "订单号 123", 4),
                content_type="text/xml")
    assert ticket.messages.filter(kind="customer").count() == 2
    assert ticket.customer.identities.get(kind="wechat_openid").value == "oA1"
