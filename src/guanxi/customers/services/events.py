"""Timeline writes: one event (the services that cause it), logged interactions, and
bulk ingest of events from other systems."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.audit.services import log_action
from guanxi.core.errors import FieldError, InvalidInput
from guanxi.core.permissions import Actor, require, staff
from guanxi.customers.models import (
    Customer,
    Event,
    FollowUp,
    Identity,
    RecentView,
)
from guanxi.customers.permissions import CustomerAction
from guanxi.customers.selectors import visible_customers
from guanxi.customers.services.access import _check
from guanxi.customers.services.identities import IdentityInput, normalize_identity
from guanxi.customers.services.timeline import event_record
from guanxi.timeline.kinds import LOGGABLE, data_errors, is_ingestible, kind_label, kinds_with
from guanxi.timeline.services import NewEvent, events_append_many


@dataclass
class EventInput:
    kind: str
    occurred_at: dt.datetime
    customer_id: int | None = None
    identity: IdentityInput | None = None
    channel: str = ""
    source: str = ""
    summary: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    idempotency_key: str | None = None




def interaction_log(*, actor: Actor, customer: Customer, kind: str, summary: str,
                    channel: str = "", occurred_at: dt.datetime | None = None,
                    follow_up_on: dt.date | None = None) -> Event:
    """Log a call, visit or note; with `follow_up_on`, also a follow-up on that day for
    the person logging it (shown on their home page and the customer's page)."""
    _check(actor, CustomerAction.INTERACTION_LOG, customer)
    errors = []
    loggable = kinds_with(LOGGABLE)
    if kind not in loggable:
        errors.append(FieldError("kind", _("Choose one of: %(kinds)s") % {
            "kinds": ", ".join(kind_label(k) for k in loggable)}, kind))
    text = summary.strip()
    if not text:
        errors.append(FieldError("summary", _("Write what happened")))
    if occurred_at is not None and occurred_at > timezone.now() + dt.timedelta(minutes=5):
        errors.append(FieldError("occurred_at", _("Cannot be in the future"), str(occurred_at)))
    if follow_up_on is not None and follow_up_on < timezone.localdate():
        errors.append(FieldError("follow_up_on", _("Choose today or a later day"),
                                 str(follow_up_on)))
    if errors:
        raise InvalidInput(errors)
    data: dict[str, Any] = {"text": text} if len(text) > 500 else {}
    if follow_up_on is not None:
        data["follow_up_on"] = follow_up_on.isoformat()
    with transaction.atomic():
        event = event_record(customer=customer, kind=kind, actor=actor, occurred_at=occurred_at,
                             summary=text[:500], channel=channel, data=data)
        log_action(actor=actor, action=f"interaction.{kind}", obj=event,
                   customer_id=customer.pk,
                   changes={"follow_up_on": [None, data["follow_up_on"]]}
                   if follow_up_on else None)
        if follow_up_on is not None:
            FollowUp.objects.create(customer=customer, assignee=staff(actor) or customer.owner,
                                    due_on=follow_up_on, note=text[:200],
                                    created_by=staff(actor))
    return event


def follow_up_done(*, actor: Actor, follow_up: FollowUp) -> FollowUp:
    """Mark a follow-up done (on the timeline and in the audit log); doing it twice
    changes nothing."""
    _check(actor, CustomerAction.INTERACTION_LOG, follow_up.customer)
    with transaction.atomic():
        updated = FollowUp.objects.filter(pk=follow_up.pk, done_at__isnull=True).update(
            done_at=timezone.now(), done_by=staff(actor))
        follow_up.refresh_from_db()
        if updated:
            event_record(customer=follow_up.customer, kind="follow_up_done", actor=actor,
                         data={"due_on": follow_up.due_on.isoformat(), "note": follow_up.note})
            log_action(actor=actor, action="follow_up.done", obj=follow_up,
                       customer_id=follow_up.customer_id)
    return follow_up


def _resolve_event_customers(actor: Actor, events: Sequence[EventInput]) -> tuple[
        dict[int, int], list[FieldError]]:
    """Map event index -> customer id, resolving identities in two queries."""
    visible = visible_customers(actor)
    ids = {e.customer_id for e in events if e.customer_id is not None}
    known_ids = set(visible.filter(pk__in=ids).values_list("pk", flat=True)) if ids else set()
    wanted: dict[tuple[str, str, str], list[int]] = {}
    errors: list[FieldError] = []
    resolved: dict[int, int] = {}
    for i, e in enumerate(events):
        if e.customer_id is not None:
            if e.customer_id in known_ids:
                resolved[i] = e.customer_id
            else:
                errors.append(FieldError(f"events.{i}.customer_id", _("Unknown customer"),
                                         e.customer_id))
        elif e.identity is not None:
            try:
                value = normalize_identity(e.identity.kind, e.identity.value,
                                           field_name=f"events.{i}.identity.value")
            except InvalidInput as exc:
                errors.extend(exc.errors)
                continue
            wanted.setdefault((e.identity.kind, e.identity.system, value), []).append(i)
        else:
            errors.append(FieldError(f"events.{i}", _("Give customer_id or identity")))
    if wanted:
        values = {v for (_k, _s, v) in wanted}
        rows = (Identity.objects.filter(value__in=values, customer__in=visible)
                .values_list("kind", "system", "value", "customer_id"))
        found = {(k, s, v): c for k, s, v, c in rows}
        for key, indexes in wanted.items():
            for i in indexes:
                if key in found:
                    resolved[i] = found[key]
                else:
                    errors.append(FieldError(f"events.{i}.identity",
                                             _("No customer has this identity"), key[2]))
    return resolved, errors


def events_ingest(*, actor: Actor, events: Sequence[EventInput]) -> dict[str, int]:
    """Append a batch of events; all or nothing. A repeated idempotency key adds nothing."""
    require(actor, CustomerAction.EVENT_CREATE)
    errors: list[FieldError] = []
    limit = settings.GUANXI_API_MAX_BULK
    if len(events) > limit:
        raise InvalidInput.single("events", _("At most %(n)s events per call") % {"n": limit},
                                  len(events))
    now = timezone.now()
    for i, e in enumerate(events):
        if not is_ingestible(e.kind):
            errors.append(FieldError(f"events.{i}.kind",
                                     _("Unknown event kind (use a known kind or custom.*)"),
                                     e.kind))
        else:
            for key, why in data_errors(e.kind, e.data):
                errors.append(FieldError(f"events.{i}.data.{key}", why, e.data.get(key)))
        if timezone.is_naive(e.occurred_at):
            errors.append(FieldError(f"events.{i}.occurred_at",
                                     _("Give a time zone offset"), str(e.occurred_at)))
        elif e.occurred_at > now + dt.timedelta(days=1):
            errors.append(FieldError(f"events.{i}.occurred_at", _("Cannot be in the future"),
                                     e.occurred_at.isoformat()))
    resolved, resolve_errors = _resolve_event_customers(actor, events)
    errors.extend(resolve_errors)
    if errors:
        raise InvalidInput(errors)
    actor_id = getattr(actor, "pk", None)
    rows = [NewEvent(customer_id=resolved[i], kind=e.kind, occurred_at=e.occurred_at,
                     channel=e.channel, source=e.source, actor_id=actor_id, summary=e.summary,
                     data=e.data, idempotency_key=e.idempotency_key or None)
            for i, e in enumerate(events)]
    with transaction.atomic():
        # The unique index on idempotency_key decides what is new: a repeated key (from an
        # earlier call, this batch, or a concurrent call) is skipped by the insert itself.
        created = events_append_many(rows, skip_duplicates=True, recorded_at=now,
                                     checked=True)
        log_action(actor=actor, action="events.ingest", object_type="customers.event",
                   extra={"received": len(events), "created": created,
                          "customers": len(set(resolved.values()))})
    return {"received": len(events), "created": created, "duplicates": len(events) - created}


def customer_viewed(*, actor: Actor, customer: Customer) -> None:
    """Remember that the actor opened the customer's page (their "recently viewed"); not
    audited: reading is not a change, and the list is the actor's own convenience."""
    user = staff(actor)
    if user is None:
        return
    # One statement (an upsert), not a read then a write, on every page view.
    RecentView.objects.bulk_create(
        [RecentView(user=user, customer=customer, viewed_at=timezone.now())],
        update_conflicts=True, unique_fields=["user", "customer"], update_fields=["viewed_at"])
