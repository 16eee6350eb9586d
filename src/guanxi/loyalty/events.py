"""Member events (会员活动): registration up to the capacity, a waiting line that moves up
when a place frees, check-in at the door by the QR code on the member's page, and the
attendance on the timeline and as points.

Staff register members (or the API does); members register themselves from their page
(a signed link) while the event is open to them and has not started. Every change takes
the event's row lock first, so two registrations for the last place cannot both get it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import Case, Count, Q, When
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.audit.services import log_action
from guanxi.core.errors import Conflict, InvalidInput, NotFound
from guanxi.core.permissions import Actor, require
from guanxi.customers.models import Customer
from guanxi.loyalty.models import MemberEvent, Registration
from guanxi.loyalty.permissions import LoyaltyAction
from guanxi.loyalty.services import points_award
from guanxi.timeline.services import event_append

CHECK_IN_SALT = "loyalty.check-in"
State = Registration.State
HOLDING = (State.REGISTERED, State.ATTENDED)  # these take a place


def _timeline(registration: Registration, kind: str, actor: Actor, **data: Any) -> None:
    event = registration.event
    event_append(customer_id=registration.customer_id, kind=kind, actor=actor,
                 data={"event": event.pk, "name": event.name, **data})


def _locked(event: MemberEvent) -> MemberEvent:
    return MemberEvent.objects.select_for_update().get(pk=event.pk)


def _locked_open(event: MemberEvent) -> MemberEvent:
    """The event's row, locked; a cancelled event takes no registration or check-in."""
    event = _locked(event)
    if event.cancelled_at:
        raise Conflict(_("This event has been cancelled"))
    return event


def _taken(event: MemberEvent) -> int:
    return Registration.objects.filter(event=event, state__in=HOLDING).count()


def _promote(event: MemberEvent, actor: Actor) -> list[Registration]:
    """Free places go to the waiting line, first come first served (inside the lock)."""
    free = event.capacity - _taken(event)
    if free <= 0 or event.cancelled_at:
        return []
    moved = list(Registration.objects.filter(event=event, state=State.WAITING)
                 .order_by("queued_at", "pk")[:free])
    for registration in moved:
        registration.state = State.REGISTERED
        registration.save(update_fields=["state"])
        registration.event = event
        _timeline(registration, "member_event_registered", actor,
                  state=State.REGISTERED.value, source=registration.source, promoted=True)
    return moved


def event_save(*, actor: Actor, data: Mapping[str, Any], instance: MemberEvent | None = None
               ) -> MemberEvent:
    """Create or change an event (the set-up form checks every field); more places move
    the waiting line up."""
    from guanxi.loyalty import setup

    with transaction.atomic():
        if instance is not None:
            instance = _locked(instance)
            if instance.cancelled_at:
                raise Conflict(_("This event has been cancelled"))
        event = setup.setup_save(actor=actor, kind="event", data=data, instance=instance)
        _promote(event, actor)
    return event


def event_cancel(*, actor: Actor, event: MemberEvent) -> int:
    """Call the event off: every registration and waiting place is cancelled (and shows on
    each member's timeline, where an automation can tell them)."""
    require(actor, LoyaltyAction.MANAGE)
    with transaction.atomic():
        event = _locked(event)
        if event.cancelled_at:
            return 0
        if event.registrations.filter(state=State.ATTENDED).exists():
            raise Conflict(_("Members have already checked in to this event"))
        event.cancelled_at = timezone.now()
        event.save(update_fields=["cancelled_at"])
        active = list(event.registrations.filter(state__in=(State.REGISTERED, State.WAITING)))
        for registration in active:
            registration.state = State.CANCELLED
            registration.save(update_fields=["state"])
            registration.event = event
            _timeline(registration, "member_event_cancelled", actor, by="event")
        log_action(actor=actor, action="loyalty.event_cancel", obj=event,
                   changes={"cancelled_at": [None, event.cancelled_at.isoformat()]},
                   extra={"registrations": len(active)})
    return len(active)


def event_register(*, actor: Actor, event: MemberEvent, customer: Customer,
                   source: str = Registration.Source.STAFF) -> Registration:
    """A place for the member, or a place in the waiting line when the event is full.
    `actor` None is the member on their own page. Registering again changes nothing."""
    if actor is not None:
        require(actor, LoyaltyAction.WORK)
    now = timezone.now()
    with transaction.atomic():
        event = _locked_open(event)
        if now >= event.ends_at:
            raise Conflict(_("This event is over"))
        if actor is None and not event.open_to_members:
            raise Conflict(_("Registration for this event is through our staff"))
        if actor is None and now >= event.starts_at:
            raise Conflict(_("This event has started; registration has closed"))
        registration = Registration.objects.filter(event=event, customer=customer).first()
        if registration is not None and registration.state != State.CANCELLED:
            return registration
        state = State.REGISTERED if _taken(event) < event.capacity else State.WAITING
        if registration is None:
            registration = Registration(event=event, customer=customer)
        registration.state, registration.source, registration.queued_at = state, source, now
        registration.save()
        registration.event = event
        _timeline(registration, "member_event_registered", actor, state=state.value,
                  source=source, promoted=False)
        log_action(actor=actor, action="loyalty.event_register", obj=event,
                   customer_id=customer.pk, changes={"state": [None, state.value]},
                   extra={"source": source})
    return registration


def registration_cancel(*, actor: Actor, event: MemberEvent, customer: Customer
                        ) -> Registration:
    """The member no longer comes: their place goes to the first in the waiting line."""
    if actor is not None:
        require(actor, LoyaltyAction.WORK)
    with transaction.atomic():
        event = _locked(event)
        registration = Registration.objects.filter(event=event, customer=customer).first()
        if registration is None:
            raise NotFound(_("Not registered for this event"))
        if registration.state == State.ATTENDED:
            raise Conflict(_("Already checked in: the attendance stays"))
        if registration.state == State.CANCELLED:
            return registration
        previous = registration.state
        registration.state = State.CANCELLED
        registration.save(update_fields=["state"])
        registration.event = event
        _timeline(registration, "member_event_cancelled", actor,
                  by="member" if actor is None else "staff")
        log_action(actor=actor, action="loyalty.event_cancel_registration", obj=event,
                   customer_id=customer.pk, changes={"state": [previous, State.CANCELLED]})
        _promote(event, actor)
    return registration


def check_in(*, actor: Actor, event: MemberEvent, customer: Customer) -> Registration:
    """At the door: the member attended (on the timeline) and earns the event's points.
    Checking in twice changes nothing; someone not registered or still waiting is
    refused, unless staff let a walk-in take a free place."""
    require(actor, LoyaltyAction.WORK)
    now = timezone.now()
    with transaction.atomic():
        event = _locked_open(event)
        if now < event.starts_at - dt.timedelta(hours=12) or now > event.ends_at + \
                dt.timedelta(hours=12):
            raise Conflict(_("Check-in is open from 12 hours before the event until 12 "
                             "hours after it ends"))
        registration = Registration.objects.filter(event=event, customer=customer).first()
        if registration is not None and registration.state == State.ATTENDED:
            return registration
        if registration is None or registration.state != State.REGISTERED:
            if _taken(event) >= event.capacity:
                raise Conflict(_("Not registered, and the event is full") if
                               registration is None or registration.state == State.CANCELLED
                               else _("Still on the waiting list, and the event is full"))
            registration = registration or Registration(event=event, customer=customer,
                                                        source=Registration.Source.STAFF)
        registration.state, registration.checked_in_at = State.ATTENDED, now
        registration.save()
        registration.event = event
        if event.points:
            points_award(actor=actor, customer=customer, points=event.points,
                         reason=f"event:{event.pk}")
        _timeline(registration, "member_event_attended", actor, points=event.points)
        log_action(actor=actor, action="loyalty.event_check_in", obj=event,
                   customer_id=customer.pk, changes={"state": [None, State.ATTENDED]})
    return registration


# --- the QR code at the door -------------------------------------------------------------

def check_in_token(registration: Registration) -> str:
    return signing.Signer(salt=CHECK_IN_SALT).sign(
        f"{registration.event_id}.{registration.customer_id}")


def check_in_link_for(token: str) -> str:
    """What the QR code on the member's page holds: staff scan it with a phone (logged
    in) or type the code below it into the event's check-in box."""
    return f"{settings.GUANXI_PUBLIC_URL.rstrip('/')}/loyalty/check-in/{token}"


def from_token(token: str) -> tuple[MemberEvent, Customer]:
    """The event and member a check-in code stands for; a changed code is refused."""
    token = token.strip().rsplit("/", 1)[-1]
    try:
        event_id, customer_id = (int(part) for part in signing.Signer(
            salt=CHECK_IN_SALT).unsign(token).split("."))
    except (signing.BadSignature, ValueError) as exc:
        raise InvalidInput.single("code", _("Not a check-in code of ours"), token) from exc
    event = MemberEvent.objects.filter(pk=event_id).first()
    customer = Customer.objects.filter(pk=customer_id).first()
    if event is None or customer is None:
        raise NotFound(_("Not found"))
    return event, customer


def customer_for_code(event: MemberEvent, code: str) -> Customer:
    """The member a check-in code typed or scanned at `event`'s door stands for; a code
    of another event is refused."""
    code_event, customer = from_token(code)
    if code_event.pk != event.pk:
        raise InvalidInput.single("code", _("This code is for another event: %(name)s")
                                  % {"name": code_event})
    return customer


# --- reading ----------------------------------------------------------------------------

def with_counts(events: Any) -> Any:
    """Events with how many hold a place, wait, and attended (one query)."""
    return events.annotate(
        taken=Count("registrations", filter=Q(registrations__state__in=HOLDING)),
        waiting=Count("registrations", filter=Q(registrations__state=State.WAITING)),
        attended=Count("registrations", filter=Q(registrations__state=State.ATTENDED)))


def event_view(event: Any) -> dict[str, Any]:
    """An event with its counts (`with_counts` annotated, or read here)."""
    if getattr(event, "taken", None) is None:
        event = with_counts(MemberEvent.objects.filter(pk=event.pk)).get()
    return {"id": event.pk, "name": event.name, "description": event.description,
            "location": event.location, "starts_at": event.starts_at,
            "ends_at": event.ends_at, "capacity": event.capacity, "points": event.points,
            "open_to_members": event.open_to_members,
            "cancelled": event.cancelled_at is not None, "registered": event.taken,
            "waiting": event.waiting, "attended": event.attended,
            "places_left": max(0, event.capacity - event.taken)}


def registration_view(registration: Registration) -> dict[str, Any]:
    waiting_position = None
    if registration.state == State.WAITING:
        waiting_position = Registration.objects.filter(
            event_id=registration.event_id, state=State.WAITING).filter(
            Q(queued_at__lt=registration.queued_at)
            | Q(queued_at=registration.queued_at, pk__lt=registration.pk)).count() + 1
    return {"event_id": registration.event_id, "customer_id": registration.customer_id,
            "state": registration.state, "source": registration.source,
            "waiting_position": waiting_position,
            "checked_in_at": registration.checked_in_at}


def past(now: dt.datetime | None = None) -> Any:
    """Events that have ended, the latest first, with their counts."""
    return with_counts(MemberEvent.objects.filter(ends_at__lte=now or timezone.now())
                       .order_by("-starts_at"))


def upcoming(now: dt.datetime | None = None) -> Any:
    now = now or timezone.now()
    return with_counts(MemberEvent.objects.filter(cancelled_at__isnull=True, ends_at__gt=now)
                       .order_by("starts_at"))


def for_member(customer: Customer, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """The member page's events: those open to members or that the member registered
    for, with their state and the check-in code (two queries)."""
    now = now or timezone.now()
    mine = {r.event_id: r for r in Registration.objects.filter(
        customer=customer, event__ends_at__gt=now, event__cancelled_at__isnull=True)}
    rows = []
    for event in upcoming(now).filter(Q(open_to_members=True, starts_at__gt=now)
                                      | Q(pk__in=list(mine)))[:20]:
        registration = mine.get(event.pk)
        state = registration.state if registration else ""
        rows.append({"event": event, "state": state,
                     "places_left": max(0, event.capacity - event.taken),
                     "can_register": event.open_to_members and event.starts_at > now
                     and state in ("", State.CANCELLED),
                     "can_cancel": state in (State.REGISTERED, State.WAITING),
                     "check_in": check_in_token(registration)
                     if registration and state == State.REGISTERED else ""})
    return rows


def registrations_of(event: MemberEvent) -> Any:
    """Who holds a place (came, then registered), the waiting line in order, then who
    cancelled."""
    rank = Case(When(state=State.ATTENDED, then=0), When(state=State.REGISTERED, then=1),
                When(state=State.WAITING, then=2), default=3)
    return (Registration.objects.filter(event=event).select_related("customer")
            .order_by(rank, "queued_at", "pk"))
