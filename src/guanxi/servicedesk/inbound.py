"""Mail customers send to the desk: parsed (GB2312/GBK mails decoded as GB18030, HTML-only
mails turned into text, quoted history cut off, attachments kept within the desk's
limits), threaded onto its ticket, or opened as a new one.

Threading, first match wins: a Message-ID in In-Reply-To or References that the desk
knows (its own replies carry one, so do earlier mails of the thread); then "[#123]" in the
subject when the sender is that ticket's customer. Automatic replies (RFC 3834
Auto-Submitted, X-Autoreply, Precedence: auto_reply/bulk/junk, "自动回复" / "Out of
Office" subjects) are kept on their ticket but never reopen it, and never open one;
delivery reports (bounces) are ignored.

Mail arrives through the SMTP receiver (`guanxi desk-smtpd`, aiosmtpd) or an email
service's inbound webhook (django-anymail's `inbound` signal)."""

from __future__ import annotations

import email
import email.policy
import html
import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from typing import Any

from guanxi.core.errors import DomainError
from guanxi.servicedesk import services
from guanxi.servicedesk.models import Channel, MessageKind, Status, Ticket, TicketMessage

_ID = re.compile(r"<[^<>\s]+>")
_TICKET = re.compile(r"\[#(\d{1,12})\]")
AUTO_SUBJECT = re.compile(
    r"^\s*(自动回复|自动答复|Auto(matic)?[ -]?(reply|response)|Out of (the )?Office|"
    r"Abwesenheitsnotiz|AutoReply|Auto:)", re.I)
# Where the quoted history of a reply starts (Gmail, Apple Mail, Outlook, Foxmail,
# QQ Mail, NetEase): everything from the first such line on is cut.
QUOTE_START = re.compile(
    r"^(On .{4,200}wrote:\s*$|在\s*.{4,120}写道[:：]\s*$|-{2,}\s*原始邮件\s*-{2,}|"
    r"-{2,}\s*Original Message\s*-{2,}|_{10,}\s*$|From:\s.+|发件人[:：].+|"
    r"-{5,}\s*回复的原邮件\s*-{5,}|Am .{4,200} schrieb .{1,100}:\s*$)",
    re.I | re.M)


@dataclass
class Parsed:
    sender: str
    name: str
    subject: str
    text: str
    message_id: str
    in_reply_to: str
    references: list[str]
    auto: bool
    bounce: bool
    attachments: list[services.NewAttachment] = field(default_factory=list)


def _decode_part(part: EmailMessage) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return str(part.get_payload() or "")
    charset = (part.get_content_charset() or "utf-8").lower()
    if charset in ("gb2312", "gbk", "x-gbk", "cp936", "gb_2312-80", "euc-cn"):
        charset = "gb18030"  # what Chinese mail programs really send under these labels
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:
        return payload.decode("utf-8", errors="replace")


_BLOCK = re.compile(r"<\s*(br|/p|/div|/tr|/li|/h\d)\b[^>]*>", re.I)


def html_to_text(source: str) -> str:
    import nh3

    source = re.sub(r"(?is)<(script|style|head)\b.*?</\1>", "", source)
    source = re.sub(r"(?is)<blockquote\b.*?</blockquote>", "", source)
    source = _BLOCK.sub("\n", source)
    text = html.unescape(nh3.clean(source, tags=set()))
    lines = [re.sub(r"[ \t\xa0]+", " ", line).strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def strip_quoted(text: str) -> str:
    """The new text of a reply: the quoted history and ">" lines cut off."""
    m = QUOTE_START.search(text)
    if m and m.start() > 0:
        text = text[:m.start()]
    lines = [line for line in text.splitlines() if not line.lstrip().startswith(">")]
    return "\n".join(lines).strip()


def _header(msg: EmailMessage, name: str) -> str:
    try:
        return str(msg.get(name, "") or "")
    except (ValueError, TypeError, IndexError):  # a malformed header
        raw = msg.get_all(name, failobj=[""])
        return str(raw[0]) if raw else ""


def parse(raw: bytes) -> Parsed:
    msg: Any = email.message_from_bytes(raw, policy=email.policy.default)
    name, sender = parseaddr(_header(msg, "From"))
    subject = re.sub(r"\s+", " ", _header(msg, "Subject")).strip()
    auto_submitted = _header(msg, "Auto-Submitted").strip().lower()
    precedence = _header(msg, "Precedence").strip().lower()
    auto = bool((auto_submitted and auto_submitted != "no")
                or msg.get("X-Autoreply") or msg.get("X-Autorespond")
                or (msg.get("X-Auto-Response-Suppress") and AUTO_SUBJECT.search(subject))
                or precedence in ("auto_reply", "bulk", "junk")
                or AUTO_SUBJECT.search(subject))
    bounce = (msg.get_content_type() == "multipart/report"
              or sender.lower().startswith(("mailer-daemon@", "postmaster@")))
    plain, rich = "", ""
    attachments: list[services.NewAttachment] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        disposition = (part.get_content_disposition() or "").lower()
        filename = part.get_filename()
        if disposition == "attachment" or (filename and disposition != "inline"):
            data = part.get_payload(decode=True) or b""
            attachments.append(services.NewAttachment(filename or "attachment",
                                                      part.get_content_type(), data))
            continue
        if part.get_content_type() == "text/plain" and not plain:
            plain = _decode_part(part)
        elif part.get_content_type() == "text/html" and not rich:
            rich = _decode_part(part)
    text = plain if plain.strip() else html_to_text(rich)
    references = _ID.findall(_header(msg, "References"))
    return Parsed(sender=sender.strip().lower(), name=name.strip(), subject=subject,
                  text=strip_quoted(text) or text.strip(),
                  message_id=(_ID.findall(_header(msg, "Message-ID")) or [""])[0],
                  in_reply_to=(_ID.findall(_header(msg, "In-Reply-To")) or [""])[0],
                  references=references, auto=auto, bounce=bounce,
                  attachments=attachments)


def thread_of(p: Parsed) -> Ticket | None:
    """The ticket this mail answers, if any."""
    ids = [i for i in [p.in_reply_to, *reversed(p.references)] if i]
    if ids:
        known = (TicketMessage.objects.filter(message_id__in=ids)
                 .select_related("ticket").order_by("-pk").first())
        if known is not None:
            return _live(known.ticket)
    m = _TICKET.search(p.subject)
    if m and p.sender:
        from guanxi.customers.models import Identity

        ticket = Ticket.objects.filter(pk=int(m.group(1))).first()
        if ticket is not None and Identity.objects.filter(
                customer_id=ticket.customer_id, kind="email", value__iexact=p.sender).exists():
            return _live(ticket)
    return None


def _live(ticket: Ticket) -> Ticket:
    while ticket.merged_into_id:
        ticket = Ticket.objects.get(pk=ticket.merged_into_id)
    return ticket


@dataclass
class Outcome:
    action: str  # "threaded", "opened", "ignored"
    ticket_id: int | None = None
    reason: str = ""


def receive(raw: bytes) -> Outcome:
    """File one mail. Never raises for a bad mail: the outcome says what happened."""
    try:
        p = parse(raw)
    except (ValueError, TypeError, LookupError) as exc:
        return Outcome("ignored", reason=f"unreadable: {exc}")
    if p.bounce:
        return Outcome("ignored", reason="delivery report")
    if p.message_id and TicketMessage.objects.filter(message_id=p.message_id,
                                                     kind=MessageKind.CUSTOMER).exists():
        known = TicketMessage.objects.filter(message_id=p.message_id).first()
        return Outcome("threaded", known.ticket_id if known else None, "seen before")
    ticket = thread_of(p)
    body = p.text or p.subject or "(empty)"
    try:
        if ticket is not None and ticket.status != Status.CLOSED:
            services.customer_wrote(ticket=ticket, body=body, channel=Channel.EMAIL,
                                    message_id=p.message_id, in_reply_to=p.in_reply_to,
                                    attachments=_within_limits(p.attachments),
                                    auto_reply=p.auto)
            return Outcome("threaded", ticket.pk)
        if p.auto:
            return Outcome("ignored", ticket.pk if ticket else None, "automatic reply")
        subject = _TICKET.sub("", p.subject).strip() or body[:60]
        if ticket is not None:  # a reply to a closed ticket: a follow-up ticket
            subject = subject[:190]
        opened = services.ticket_open(
            actor=None, subject=subject[:200], body=body, channel=Channel.EMAIL,
            contact=services.Contact(name=p.name, email=p.sender),
            attachments=_within_limits(p.attachments), message_id=p.message_id)
        return Outcome("opened", opened.pk)
    except DomainError as exc:
        return Outcome("ignored", reason=str(exc))


def _within_limits(files: list[services.NewAttachment]) -> list[services.NewAttachment]:
    """Attachments the desk accepts; the others are left out (the mail still counts)."""
    out = []
    for f in files:
        try:
            services.check_attachments([f])
        except DomainError:
            continue
        out.append(f)
    return out


def recipients(raw: bytes) -> list[str]:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    return [a for _n, a in getaddresses([str(v) for v in msg.get_all("To", [])])]


def anymail_inbound(sender: Any, event: Any, esp_name: str, **kwargs: Any) -> None:
    """django-anymail's inbound signal (an email service POSTed a received mail)."""
    message = getattr(event, "message", None)
    if message is not None:
        receive(message.as_bytes())
