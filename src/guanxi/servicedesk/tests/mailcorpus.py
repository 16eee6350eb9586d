"""A corpus of real-world shaped customer mails for the inbound tests and the threading
benchmark: what QQ Mail, Foxmail, NetEase, Outlook (Chinese and English), Gmail and Apple
Mail send — GB2312 / GBK / UTF-8, base64 and quoted-printable, encoded-word subjects,
quoted history in each program's style, HTML-only mails, attachments, out-of-office
replies with and without RFC 3834 headers, and a bounce.

`conversation(n, first_reply_id)` yields (raw mail, expectation) pairs for the n-th
customer; the first mail opens a ticket, the rest must thread onto it (or, for automatic
replies, be kept without reopening it)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.charset import QP, Charset
from email.header import Header
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate

DOMAIN = "mail.example.cn"


@dataclass(frozen=True)
class Expect:
    what: str        # "open", "thread", "auto" (kept, no reopen), "ignore"
    style: str
    text: str = ""   # a part of the new text that must be on the ticket
    not_text: str = ""  # quoted history that must have been cut off
    attachments: int = 0


def _headers(msg: MIMEText | MIMEMultipart, n: int, k: int, sender: str, subject: str,
             charset: str, reply_to_id: str = "", references: str = "") -> None:
    msg["From"] = formataddr((str(Header(f"客户{n}", charset)), sender))
    msg["To"] = "support@longjing.example"
    msg["Subject"] = Header(subject, charset).encode()
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = f"<m{n}.{k}@{DOMAIN}>"
    if reply_to_id:
        msg["In-Reply-To"] = reply_to_id
    if references:
        msg["References"] = references


def _text(body: str, charset: str) -> MIMEText:
    return MIMEText(body, "plain", charset)


def first(n: int, sender: str) -> bytes:
    """QQ Mail: GB2312 subject and base64 body."""
    msg = _text(f"你好，我的订单 {n} 已经五天没有发货了，请尽快处理。", "gb2312")
    _headers(msg, n, 0, sender, f"订单{n}没有发货", "gb2312")
    return msg.as_bytes()


def _gbk_foxmail(n: int, sender: str, reply_id: str) -> tuple[bytes, Expect]:
    # labelled GB2312 but with characters only GBK has (镕 喆 堃)
    body = ("收到，谢谢。收件人朱镕喆堃。\n\n------------------ 原始邮件 ------------------\n"
            "发件人: \"龙井茶庄\"<support@longjing.example>;\n您好，已为您催促仓库。")
    msg = MIMEText(body, "plain", "gb18030")
    msg.set_param("charset", "gb2312")
    _headers(msg, n, 1, sender, f"回复：[#{n}] 订单没有发货", "gb2312", reply_id, reply_id)
    return msg.as_bytes(), Expect("thread", "foxmail-gbk", "朱镕喆堃", "已为您催促仓库")


def _outlook_references(n: int, sender: str, reply_id: str) -> tuple[bytes, Expect]:
    body = ("请问什么时候能到？\n\n发件人: 龙井茶庄 <support@longjing.example>\n"
            "发送时间: 2026年12月1日 10:00\n主题: 订单没有发货\n\n您好，已为您催促仓库。")
    qp = Charset("utf-8")
    qp.body_encoding = QP
    msg = MIMEText(body, "plain", qp)  # type: ignore[arg-type]
    _headers(msg, n, 2, sender, "答复: 订单没有发货", "utf-8", "",
             f"<m{n}.0@{DOMAIN}> {reply_id}")
    return msg.as_bytes(), Expect("thread", "outlook-references", "什么时候能到",
                                  "发送时间")


def _html_only(n: int, sender: str, reply_id: str) -> tuple[bytes, Expect]:
    html = ("<html><body><div>物流单号查到了，<b>谢谢</b>！</div><br>"
            "<blockquote>您好，已为您催促仓库。</blockquote></body></html>")
    msg = MIMEText(html, "html", "utf-8")
    _headers(msg, n, 3, sender, "Re: 订单没有发货", "utf-8", reply_id)
    return msg.as_bytes(), Expect("thread", "html-only", "物流单号查到了", "催促仓库")


def _attachments(n: int, sender: str, reply_id: str) -> tuple[bytes, Expect]:
    msg = MIMEMultipart()
    msg.attach(_text("附上发票和照片。\n\n> 您好，已为您催促仓库。", "utf-8"))
    pdf = MIMEApplication(b"%PDF-1.4 invoice", "pdf")
    pdf.add_header("Content-Disposition", "attachment", filename=("utf-8", "", "发票.pdf"))
    msg.attach(pdf)
    exe = MIMEApplication(b"MZ\x90\x00", "octet-stream")
    exe.add_header("Content-Disposition", "attachment", filename="setup.exe")
    msg.attach(exe)
    _headers(msg, n, 4, sender, "Re: 订单没有发货", "utf-8", reply_id)
    return msg.as_bytes(), Expect("thread", "attachments", "附上发票", "> 您好",
                                  attachments=1)


def _gmail_english(n: int, sender: str, reply_id: str) -> tuple[bytes, Expect]:
    body = ("Thanks, it arrived today.\n\nOn Tue, Dec 1, 2026 at 10:00 AM Longjing Tea "
            "<support@longjing.example> wrote:\n> Your parcel is on its way.")
    msg = MIMEText(body, "plain", "utf-8")
    _headers(msg, n, 5, sender, "Re: [#0] Order not shipped", "utf-8", reply_id)
    return msg.as_bytes(), Expect("thread", "gmail-en", "it arrived today", "on its way")


def _auto_rfc3834(n: int, sender: str, reply_id: str) -> tuple[bytes, Expect]:
    msg = MIMEText("我正在休假，12月8日回来。", "plain", "utf-8")
    _headers(msg, n, 6, sender, "自动回复: 订单没有发货", "utf-8", reply_id)
    msg["Auto-Submitted"] = "auto-replied"
    return msg.as_bytes(), Expect("auto", "auto-rfc3834")


def _auto_subject_only(n: int, sender: str, reply_id: str) -> tuple[bytes, Expect]:
    msg = MIMEText("I am out of the office until Monday.", "plain", "utf-8")
    _headers(msg, n, 7, sender, "Automatic reply: Order not shipped", "utf-8", reply_id)
    return msg.as_bytes(), Expect("auto", "auto-subject")


def _subject_token(n: int, sender: str, reply_id: str, ticket_id: int
                   ) -> tuple[bytes, Expect]:
    # NetEase: no In-Reply-To or References, only the ticket number in the subject
    msg = MIMEText("还有一个问题：能开发票吗？", "plain", "gb2312")
    _headers(msg, n, 8, sender, f"回复: [#{ticket_id}] 订单没有发货", "gb2312")
    return msg.as_bytes(), Expect("thread", "subject-token", "能开发票吗")


def _apple_mail(n: int, sender: str, reply_id: str) -> tuple[bytes, Expect]:
    body = ("好的，明白了。\n\n在 2026年12月1日，上午10:00，龙井茶庄 "
            "<support@longjing.example> 写道：\n\n您好，已为您催促仓库。")
    msg = MIMEText(body, "plain", "utf-8")
    _headers(msg, n, 9, sender, "Re: 订单没有发货", "utf-8", reply_id, reply_id)
    return msg.as_bytes(), Expect("thread", "apple-mail-zh", "明白了", "写道")


STYLES: list[Callable[[int, str, str], tuple[bytes, Expect]]] = [
    _gbk_foxmail, _outlook_references, _html_only, _attachments, _gmail_english,
    _auto_rfc3834, _auto_subject_only, _apple_mail]


def replies(n: int, sender: str, reply_id: str, ticket_id: int
            ) -> Iterator[tuple[bytes, Expect]]:
    for style in STYLES:
        yield style(n, sender, reply_id)
    yield _subject_token(n, sender, reply_id, ticket_id)


def bounce(n: int) -> bytes:
    msg = MIMEMultipart("report", report_type="delivery-status")
    msg.attach(_text("Delivery to the following recipient failed permanently.", "utf-8"))
    msg["From"] = "MAILER-DAEMON@mx.example.cn"
    msg["To"] = "support@longjing.example"
    msg["Subject"] = "Undelivered Mail Returned to Sender"
    msg["Message-ID"] = f"<bounce{n}@{DOMAIN}>"
    return msg.as_bytes()


def stranger_with_token(n: int, ticket_id: int) -> bytes:
    """Someone else quoting a ticket number: must not land on that ticket."""
    msg = _text("我也有问题。", "utf-8")
    _headers(msg, 90_000 + n, 0, f"stranger{n}@example.net", f"[#{ticket_id}] 我的问题",
             "utf-8")
    return msg.as_bytes()
