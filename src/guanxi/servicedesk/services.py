"""Every write to tickets: opening one from any channel, the customer writing again, an
agent's reply or internal note (with the collision check), status changes (pause, solve,
close, reopen), corrections of category / priority / complaint (training data),
assignment (round robin over available agents under their cap, with the queue's skill),
merging, macros, and the timed work: closing solved tickets, follow-ups of complaints.

Each write checks the actor's permission, writes the audit entry, and puts what happened
to the customer on their timeline."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from guanxi.audit.services import log_action
from guanxi.core.errors import Conflict, DomainError, FieldError, InvalidInput, NotFound
from guanxi.core.permissions import Actor, require, staff
from guanxi.customers.models import Customer, Identity, IdentityKind
from guanxi.customers.selectors import customer_is_visible
from guanxi.servicedesk import assignment, clocks, escalation, training
from guanxi.servicedesk.contacts import (
    Contact,
    business_language,
    customer_for_contact,
)
from guanxi.servicedesk.models import (
    ACTIVE,
    Attachment,
    Category,
    Channel,
    FollowUpTask,
    MessageKind,
    Metric,
    Priority,
    Queue,
    Status,
    SubStatus,
    Ticket,
    TicketMessage,
)
from guanxi.servicedesk.permissions import DeskAction
from guanxi.timeline.services import event_append

SUBJECT_MAX = 200
BODY_MAX = 50_000
ALLOWED_TYPES = frozenset({
    "image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain",
    "text/csv", "application/zip", "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"})


@dataclass(frozen=True)
class NewAttachment:
    name: str
    content_type: str
    data: bytes


# --- checks -----------------------------------------------------------------------------

def _text_errors(subject: str | None, body: str) -> list[FieldError]:
    errors = []
    if subject is not None:
        if not subject.strip():
            errors.append(FieldError("subject", _("Give the ticket a subject")))
        elif len(subject) > SUBJECT_MAX:
            errors.append(FieldError("subject", _("At most %(n)d characters")
                                     % {"n": SUBJECT_MAX}))
    if not body.strip():
        errors.append(FieldError("body", _("Write the message")))
    elif len(body) > BODY_MAX:
        errors.append(FieldError("body", _("At most %(n)d characters") % {"n": BODY_MAX}))
    return errors


def _attachment_errors(files: Sequence[NewAttachment]) -> list[FieldError]:
    limit = clocks.desk_settings().max_attachment_mb * 1024 * 1024
    errors = []
    for i, f in enumerate(files):
        if f.content_type.split(";")[0].strip().lower() not in ALLOWED_TYPES:
            errors.append(FieldError(f"attachments.{i}", _("Files of type %(type)s are not "
                                     "accepted") % {"type": f.content_type}, f.name))
        elif len(f.data) > limit:
            errors.append(FieldError(f"attachments.{i}", _("Larger than %(mb)d MB")
                                     % {"mb": limit // (1024 * 1024)}, f.name))
    return errors


def check_attachments(files: Sequence[NewAttachment]) -> None:
    """Raise InvalidInput naming each file of a type or size the desk does not accept."""
    errors = _attachment_errors(files)
    if errors:
        raise InvalidInput(errors)


def _safe_name(name: str) -> str:
    name = re.sub(r"[\\/\x00-\x1f]", "_", name).strip(". ") or "file"
    return name[-200:]


def _attach(message: TicketMessage, files: Sequence[NewAttachment]) -> None:
    Attachment.objects.bulk_create([
        Attachment(message=message, name=_safe_name(f.name),
                   content_type=f.content_type.split(";")[0].strip().lower(),
                   size=len(f.data), sha256=hashlib.sha256(f.data).hexdigest(), data=f.data)
        for f in files])


def visible_ticket(actor: Actor, ticket: Ticket) -> None:
    if not customer_is_visible(actor, ticket.customer):
        raise NotFound(_("Ticket not found"))


# --- opening and writing ----------------------------------------------------------------

def _new_key() -> str:
    return secrets.token_urlsafe(18)[:24]


def ticket_open(*, actor: Actor, subject: str, body: str, channel: str,
                customer: Customer | None = None, contact: Contact | None = None,
                priority: str = "", category: Category | None = None,
                attachments: Sequence[NewAttachment] = (), message_id: str = "",
                at: dt.datetime | None = None) -> Ticket:
    """Open a ticket from any channel. A member of staff (the API, a phone call they log)
    needs the work permission and a customer they can see; a public channel (`actor`
    None: email, the web form, WeChat, the bot) names a contact, matched to a customer by
    identity or made a new one. Category, priority and the complaint flag are predicted
    when not given."""
    if actor is not None:
        require(actor, DeskAction.WORK)
    errors = _text_errors(subject, body) + _attachment_errors(attachments)
    if channel not in Channel.values:
        errors.append(FieldError("channel", _("Unknown channel"), channel))
    if priority and priority not in Priority.values:
        errors.append(FieldError("priority", _("Unknown priority"), priority))
    if customer is None and contact is None:
        errors.append(FieldError("customer_id", _("Say who the ticket is from")))
    if errors:
        raise InvalidInput(errors)
    if customer is not None and actor is not None and not customer_is_visible(actor, customer):
        raise NotFound(_("Customer not found"))
    at = at or timezone.now()
    guess = training.predict(subject, body)
    with transaction.atomic():
        if customer is None:
            assert contact is not None
            customer, _created = customer_for_contact(contact, channel)
        ticket = Ticket(subject=subject.strip(), customer=customer, channel=channel,
                        priority=priority or guess.priority,
                        category=category or (Category.objects.filter(
                            pk=guess.category_id).first() if guess.category_id else None),
                        is_complaint=guess.complaint, classified_by=guess.source,
                        reply_to=(contact.email if contact else "") or "",
                        created_at=at, portal_key=_new_key())
        assignment.route(ticket)
        ticket.status = Status.OPEN if ticket.assignee_id else Status.NEW
        ticket.sla_policy = clocks.policy_for(ticket)
        ticket.save()
        message = TicketMessage.objects.create(
            ticket=ticket, kind=MessageKind.CUSTOMER, author=staff(actor), channel=channel,
            body=body, message_id=message_id[:250],
            created_at=at)
        _attach(message, attachments)
        clocks.start(ticket, Metric.FIRST_RESPONSE, at)
        clocks.start(ticket, Metric.RESOLUTION, at)
        event_append(customer_id=customer.pk, kind="ticket_opened", actor=actor,
                     occurred_at=at, channel=channel[:20], source="servicedesk",
                     data={"ticket": ticket.pk, "subject": ticket.subject,
                           "channel": channel, "priority": ticket.priority})
        if ticket.is_complaint:
            _complaint_event(actor, ticket, at)
        log_action(actor=actor, action="ticket.open", obj=ticket, customer_id=customer.pk,
                   extra={"channel": channel, "assignee": ticket.assignee_id,
                          "classified_by": ticket.classified_by})
    return ticket


def _complaint_event(actor: Actor, ticket: Ticket, at: dt.datetime) -> None:
    event_append(customer_id=ticket.customer_id, kind="complaint", actor=actor,
                 occurred_at=at, source="servicedesk", channel=ticket.channel[:20],
                 data={"ticket": ticket.pk, "subject": ticket.subject},
                 idempotency_key=f"complaint:ticket:{ticket.pk}")


def customer_wrote(*, ticket: Ticket, body: str, channel: str, message_id: str = "",
                   in_reply_to: str = "", attachments: Sequence[NewAttachment] = (),
                   auto_reply: bool = False, at: dt.datetime | None = None
                   ) -> TicketMessage:
    """The customer wrote again (a mail reply, the portal, WeChat). A waiting or solved
    ticket opens again and the next-response clock starts; an automatic reply (an
    out-of-office) is kept on the ticket but changes nothing. A closed ticket stays
    closed: the caller opens a follow-up ticket instead."""
    errors = _text_errors(None, body) + _attachment_errors(attachments)
    if errors:
        raise InvalidInput(errors)
    at = at or timezone.now()
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if message_id and TicketMessage.objects.filter(ticket=ticket,
                                                       message_id=message_id[:250]).exists():
            return TicketMessage.objects.get(ticket=ticket, message_id=message_id[:250])
        message = TicketMessage.objects.create(
            ticket=ticket, kind=MessageKind.CUSTOMER, channel=channel, body=body,
            message_id=message_id[:250], in_reply_to=in_reply_to[:250], created_at=at)
        _attach(message, attachments)
        if auto_reply or ticket.status == Status.CLOSED:
            return message
        if ticket.status == Status.PENDING:
            clocks.resume(ticket, at)
        if ticket.status in (Status.PENDING, Status.SOLVED, Status.HOLD, Status.NEW):
            was = ticket.status
            ticket.status = Status.OPEN if ticket.assignee_id else Status.NEW
            ticket.pending_since = None
            ticket.solved_at = None if was == Status.SOLVED else ticket.solved_at
            ticket.save(update_fields=["status", "pending_since", "solved_at", "updated_at"])
            if was == Status.SOLVED:
                clocks.start(ticket, Metric.RESOLUTION, at)
        if ticket.first_response_at is not None:
            clocks.start(ticket, Metric.NEXT_RESPONSE, at)
    return message


def portal_reply(*, ticket: Ticket, body: str,
                 attachments: Sequence[NewAttachment] = ()) -> TicketMessage:
    """The customer replies on their portal page; a closed request takes no more replies
    (they open a new one)."""
    if ticket.status == Status.CLOSED:
        raise InvalidInput.single("body", _("This request is closed; please open a new one."))
    return customer_wrote(ticket=ticket, body=body, channel=Channel.PORTAL,
                          attachments=attachments)


def _escape(text: str) -> str:
    """Agent text as an engagement template that renders to itself."""
    return re.sub(r"[{}]", lambda m: "{{ '" + m.group(0) + "' }}", text)


def _send(ticket: Ticket, message: TicketMessage, subject: str, body: str) -> None:
    """Queue the text to the customer through engagement's outbox (the send policy's
    consent check does not apply: the customer asked; it is a transactional answer). The
    channel is the ticket's when it has one, else the customer's email."""
    from guanxi.engagement.models import ChannelSetup, MessageChannel, Purpose
    from guanxi.engagement.outbox import Draft, queue_message
    from guanxi.engagement.outbox import message_id as mail_id

    channel = {Channel.WECHAT: MessageChannel.WECHAT}.get(ticket.channel,  # type: ignore[call-overload]
                                                          MessageChannel.EMAIL)
    if channel == MessageChannel.EMAIL and not Identity.objects.filter(
            customer_id=ticket.customer_id, kind=IdentityKind.EMAIL).exists():
        if Identity.objects.filter(customer_id=ticket.customer_id,
                                   kind=IdentityKind.PHONE).exists():
            channel = MessageChannel.SMS
        else:
            return  # the customer reads it on the portal
    key = f"ticket:{ticket.pk}:{message.pk}"
    queued = queue_message(Draft(
        key=key, customer_id=ticket.customer_id, channel=channel,
        purpose=Purpose.TRANSACTIONAL, origin="ticket", origin_id=ticket.pk,
        subject=_escape(f"[#{ticket.pk}] {subject}"), body=_escape(body),
        created_by_id=message.author_id))
    setup = ChannelSetup.objects.filter(channel=channel).first()
    sender = str((setup.config if setup else {}).get("from_email") or "")
    TicketMessage.objects.filter(pk=message.pk).update(
        outbox_message=queued.pk,
        message_id=mail_id(key, sender) if channel == MessageChannel.EMAIL else "")


class Collision(DomainError):
    """Someone replied (or the customer wrote) since the agent opened the ticket."""

    def __init__(self, message: str) -> None:
        super().__init__(message=message, status=409, code="collision")


def ticket_reply(*, actor: Actor, ticket: Ticket, body: str, status: str = Status.PENDING,
                 seen: int | None = None, at: dt.datetime | None = None) -> TicketMessage:
    """An agent's public reply, sent to the customer. `seen` is the last message id the
    agent had on screen: a newer public message (another agent's reply, the customer's
    new mail) is a Collision unless `seen` is None. Stops the response clocks; the ticket
    then waits for the customer (or takes `status`)."""
    require(actor, DeskAction.WORK)
    visible_ticket(actor, ticket)
    errors = _text_errors(None, body)
    if status not in (Status.OPEN, Status.PENDING, Status.HOLD, Status.SOLVED):
        errors.append(FieldError("status", _("Unknown status"), status))
    if errors:
        raise InvalidInput(errors)
    if ticket.status == Status.CLOSED:
        raise Conflict(_("The ticket is closed"))
    at = at or timezone.now()
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if seen is not None:
            newer = (TicketMessage.objects.filter(ticket=ticket, pk__gt=seen)
                     .exclude(kind__in=(MessageKind.NOTE, MessageKind.SYSTEM))
                     .select_related("author").last())
            if newer is not None:
                who = str(newer.author) if newer.author else _("The customer")
                raise Collision(_("%(who)s wrote on this ticket while you were writing: "
                                  "read it, then send again") % {"who": who})
        message = TicketMessage.objects.create(ticket=ticket, kind=MessageKind.REPLY,
                                               author=staff(actor), channel=Channel.AGENT,
                                               body=body, created_at=at)
        first = ticket.first_response_at is None
        agent_id = getattr(staff(actor), "pk", None)
        clocks.stop(ticket, (Metric.FIRST_RESPONSE, Metric.NEXT_RESPONSE), at, agent_id)
        if first:
            ticket.first_response_at = at
        if ticket.assignee_id is None:
            ticket.assignee = staff(actor)
        ticket.save(update_fields=["first_response_at", "assignee", "updated_at"])
        _send(ticket, message, ticket.subject, body)
        log_action(actor=actor, action="ticket.reply", obj=ticket,
                   customer_id=ticket.customer_id, extra={"message": message.pk})
        if status != ticket.status:
            _set_status(actor, ticket, status, None, at)
    return message


def ticket_note(*, actor: Actor, ticket: Ticket, body: str) -> TicketMessage:
    """An internal note: agents see it, the customer never does."""
    require(actor, DeskAction.WORK)
    visible_ticket(actor, ticket)
    errors = _text_errors(None, body)
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        message = TicketMessage.objects.create(ticket=ticket, kind=MessageKind.NOTE,
                                               author=staff(actor), channel=Channel.AGENT,
                                               body=body)
        log_action(actor=actor, action="ticket.note", obj=ticket,
                   customer_id=ticket.customer_id, extra={"message": message.pk})
    return message


# --- status -----------------------------------------------------------------------------

def _set_status(actor: Actor, ticket: Ticket, status: str, sub_status: SubStatus | None,
                at: dt.datetime) -> None:
    was = ticket.status
    ticket.status, ticket.sub_status = status, sub_status
    if status == Status.PENDING and was != Status.PENDING:
        ticket.pending_since = at
        clocks.pause(ticket, at)
    elif was == Status.PENDING and status != Status.PENDING:
        ticket.pending_since = None
        clocks.resume(ticket, at)
    agent_id = getattr(staff(actor), "pk", None) or ticket.assignee_id
    if status == Status.SOLVED and was != Status.SOLVED:
        ticket.solved_at = at
        clocks.stop(ticket, (Metric.RESOLUTION, Metric.NEXT_RESPONSE, Metric.FIRST_RESPONSE),
                    at, agent_id)
    if status == Status.CLOSED:
        ticket.closed_at = at
        clocks.stop(ticket, list(Metric.values), at, agent_id)
    if was in (Status.SOLVED, Status.CLOSED) and status in ACTIVE:
        ticket.solved_at = ticket.closed_at = None
        clocks.start(ticket, Metric.RESOLUTION, at)
    ticket.save(update_fields=["status", "sub_status", "pending_since", "solved_at",
                               "closed_at", "updated_at"])
    log_action(actor=actor, action="ticket.status", obj=ticket,
               customer_id=ticket.customer_id, changes={"status": [was, status]})
    if status == Status.SOLVED and was != Status.SOLVED:
        _solved(ticket, at)


def _solved(ticket: Ticket, at: dt.datetime) -> None:
    """Tell the customer, invite them to the CSAT survey, follow complaints up."""
    from guanxi.servicedesk import surveys

    event_append(customer_id=ticket.customer_id, kind="ticket_solved", occurred_at=at,
                 source="servicedesk", data={"ticket": ticket.pk, "subject": ticket.subject},
                 idempotency_key=f"ticket_solved:{ticket.pk}:{int(at.timestamp())}")
    with override(ticket.customer.preferred_language or business_language()):
        text = _("Your request #%(id)d has been solved. If anything is still wrong, just "
                 "reply to this message and it opens again.") % {"id": ticket.pk}
    note = TicketMessage.objects.create(ticket=ticket, kind=MessageKind.SYSTEM,
                                        channel=Channel.AGENT, created_at=at, body=text)
    _send(ticket, note, ticket.subject, note.body)
    surveys.invite_after_ticket(ticket)
    if ticket.is_complaint:
        days = clocks.desk_settings().complaint_follow_up_days
        FollowUpTask.objects.get_or_create(
            ticket=ticket, defaults={"assignee_id": ticket.assignee_id,
                                     "due_at": at + dt.timedelta(days=days)})


def ticket_set_status(*, actor: Actor, ticket: Ticket, status: str,
                      sub_status: SubStatus | None = None) -> Ticket:
    require(actor, DeskAction.WORK)
    visible_ticket(actor, ticket)
    if status not in Status.values:
        raise InvalidInput.single("status", _("Unknown status"), status)
    if sub_status is not None and sub_status.status != status:
        raise InvalidInput.single("sub_status", _("This sub-status belongs to another status"),
                                  sub_status.pk)
    if ticket.merged_into_id:
        raise Conflict(_("The ticket was merged into #%(id)d") % {"id": ticket.merged_into_id})
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if ticket.status != status or ticket.sub_status_id != getattr(sub_status, "pk", None):
            _set_status(actor, ticket, status, sub_status, timezone.now())
    return ticket


def ticket_reopen_for_score(ticket: Ticket, score: int) -> None:
    """A low CSAT score: the ticket opens again and the team's managers are alerted."""

    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if ticket.status in (Status.SOLVED, Status.CLOSED):
            _set_status(None, ticket, Status.OPEN, None, timezone.now())
        with override(business_language()):
            note = _("The customer rated the service %(score)d of 5: the ticket is open "
                     "again.") % {"score": score}
            text = _("Low satisfaction score (%(score)d/5) on ticket #%(id)d: %(subject)s") % {
                "score": score, "id": ticket.pk, "subject": ticket.subject}
        TicketMessage.objects.create(ticket=ticket, kind=MessageKind.SYSTEM,
                                     channel=Channel.AGENT, body=note)
        escalation.alert_team(ticket, text)


def survey_answer(invitation: Any, *, score: Any, answers: Sequence[Any] = (),
                  comment: str = "") -> Any:
    """The customer answers a survey (surveys.answer); a CSAT score at or under the desk's
    low score reopens the ticket and alerts its team's managers, in the same transaction."""
    from guanxi.servicedesk import surveys

    with transaction.atomic():
        invitation = surveys.answer(invitation, score=score, answers=answers,
                                    comment=comment)
        low = clocks.desk_settings().low_score
        if (invitation.survey.kind == "csat" and invitation.ticket_id is not None
                and invitation.score is not None and invitation.score <= low):
            ticket_reopen_for_score(Ticket.objects.get(pk=invitation.ticket_id),
                                    invitation.score)
    return invitation


# --- corrections, assignment, merging ---------------------------------------------------

_UNSET: Any = object()


def ticket_update(*, actor: Actor, ticket: Ticket, priority: str | None = None,
                  category: Category | None = _UNSET, is_complaint: bool | None = None,
                  assignee: Any = _UNSET, queue: Queue | None = _UNSET,
                  subject: str | None = None) -> Ticket:
    """An agent corrects the classification (training data from then on) or reassigns the
    ticket (audited with the old and new assignee)."""
    require(actor, DeskAction.WORK)
    visible_ticket(actor, ticket)
    errors = []
    if priority is not None and priority not in Priority.values:
        errors.append(FieldError("priority", _("Unknown priority"), priority))
    if subject is not None:
        errors += _text_errors(subject, "-")
    if assignee is not _UNSET and assignee is not None and not assignee.is_active:
        errors.append(FieldError("assignee", _("This account is deactivated"), assignee.pk))
    if errors:
        raise InvalidInput(errors)
    now = timezone.now()
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        changes: dict[str, list[Any]] = {}

        def put(field: str, value: Any, old: Any, new: Any) -> None:
            if old != new:
                changes[field] = [old, new]
                setattr(ticket, field, value)

        if priority is not None:
            put("priority", priority, ticket.priority, priority)
        if category is not _UNSET:
            put("category", category, ticket.category_id, getattr(category, "pk", None))
        if is_complaint is not None:
            put("is_complaint", is_complaint, ticket.is_complaint, is_complaint)
        if assignee is not _UNSET:
            put("assignee", assignee, ticket.assignee_id, getattr(assignee, "pk", None))
        if queue is not _UNSET:
            put("queue", queue, ticket.queue_id, getattr(queue, "pk", None))
        if subject is not None:
            put("subject", subject.strip(), ticket.subject, subject.strip())
        if not changes:
            return ticket
        if {"priority", "category", "is_complaint"} & set(changes):
            ticket.classified_by = "agent"
        if ticket.status == Status.NEW and ticket.assignee_id:
            ticket.status = Status.OPEN
        ticket.save()
        if {"priority", "category"} & set(changes):
            clocks.reprioritise(ticket, now)
        if changes.get("is_complaint") == [False, True]:
            _complaint_event(actor, ticket, now)
        log_action(actor=actor, action="ticket.update", obj=ticket,
                   customer_id=ticket.customer_id, changes=changes)
    return ticket


def ticket_merge(*, actor: Actor, source: Ticket, target: Ticket) -> Ticket:
    """Merge `source` into `target` (same customer): its messages move over, it closes
    pointing at the target, and its SLA clocks stop."""
    require(actor, DeskAction.WORK)
    visible_ticket(actor, source)
    visible_ticket(actor, target)
    if source.pk == target.pk:
        raise InvalidInput.single("target", _("A ticket cannot be merged into itself"),
                                  target.pk)
    if source.customer_id != target.customer_id:
        raise InvalidInput.single("target", _("Both tickets must be the same customer's"),
                                  target.pk)
    if target.merged_into_id or target.status == Status.CLOSED:
        raise InvalidInput.single("target", _("Merge into an open ticket"), target.pk)
    now = timezone.now()
    with transaction.atomic():
        moved = TicketMessage.objects.filter(ticket=source).update(ticket=target)
        with override(business_language()):
            note = _("Ticket #%(id)d (%(subject)s) was merged into this one.") % {
                "id": source.pk, "subject": source.subject}
        TicketMessage.objects.create(ticket=target, kind=MessageKind.SYSTEM,
                                     channel=Channel.AGENT, created_at=now,
                                     author=staff(actor), body=note)
        clocks.stop(source, list(Metric.values), now, None)
        Ticket.objects.filter(pk=source.pk).update(merged_into=target, status=Status.CLOSED,
                                                   closed_at=now)
        if source.is_complaint and not target.is_complaint:
            Ticket.objects.filter(pk=target.pk).update(is_complaint=True)
        log_action(actor=actor, action="ticket.merge", obj=target,
                   customer_id=target.customer_id,
                   extra={"merged": source.pk, "messages": moved})
    target.refresh_from_db()
    return target


# --- timed work -------------------------------------------------------------------------

def close_solved(now: dt.datetime | None = None) -> int:
    """Close tickets solved more than the desk's N days ago without a reply since."""
    now = now or timezone.now()
    days = clocks.desk_settings().auto_close_days
    due = list(Ticket.objects.filter(status=Status.SOLVED,
                                     solved_at__lte=now - dt.timedelta(days=days))
               .values_list("pk", flat=True)[:1000])
    for pk in due:
        with transaction.atomic():
            ticket = Ticket.objects.select_for_update().get(pk=pk)
            if ticket.status == Status.SOLVED:
                _set_status(None, ticket, Status.CLOSED, None, now)
    return len(due)


def follow_up_done(*, actor: Actor, task: FollowUpTask, note: str = "") -> FollowUpTask:
    require(actor, DeskAction.WORK)
    visible_ticket(actor, task.ticket)
    with transaction.atomic():
        task.done_at, task.note = timezone.now(), note
        task.save(update_fields=["done_at", "note"])
        log_action(actor=actor, action="ticket.follow_up", obj=task.ticket,
                   customer_id=task.ticket.customer_id)
    return task
