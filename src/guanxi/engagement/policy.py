"""The one send policy. Every message — a campaign's, an automation step's, one a member
of staff sends — goes through `decide_many()` when it is dispatched (not only when it is
queued: consent withdrawn in between stops it), inside the transaction that marks it
sent, with the customer's row locked so two workers cannot both fit under the cap.

In order:
1. the customer still exists (not erased) and has an address on the channel;
2. consent for the channel and purpose (transactional messages need none);
3. the suppression list (hard bounces and invalid addresses stop everything;
   complaints and unsubscribes stop marketing and surveys);
4. quiet hours in the customer's time zone (transactional messages exempt): the
   message is held until they end, never dropped;
5. the frequency cap: marketing and survey messages across all channels per customer in
   a rolling window (transactional and service messages exempt).
One message per (campaign or automation step, customer, channel) ever is the unique
`Message.key`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db.models import Count

from guanxi.customers.models import Consent, Customer, Identity, IdentityKind
from guanxi.engagement.models import (
    MARKETING_ONLY,
    OUT,
    ChannelSetup,
    Message,
    MessageChannel,
    Policy,
    Purpose,
    Suppression,
)

CAPPED = (Purpose.MARKETING, Purpose.SURVEYS)
NEED_CONSENT = (Purpose.MARKETING, Purpose.SERVICE, Purpose.SURVEYS)



@dataclass(frozen=True)
class Decision:
    send: bool
    reason: str = ""                    # a REASONS code when not sent (or held)
    hold_until: dt.datetime | None = None
    address: str = ""


def policy() -> Policy:
    found = Policy.objects.first()
    return found if found is not None else Policy()


def customer_tz(customer: Customer) -> ZoneInfo:
    """The customer's time zone: the custom attribute `time_zone` (an IANA name such as
    Europe/Berlin) when it is valid, else the business time zone."""
    name = (customer.attributes or {}).get("time_zone")
    if isinstance(name, str) and name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo(settings.TIME_ZONE)


def _identity_filter(channel: str, setup: ChannelSetup | None) -> dict[str, Any] | None:
    config = setup.config if setup is not None else {}
    if channel == MessageChannel.EMAIL:
        return {"kind": IdentityKind.EMAIL}
    if channel == MessageChannel.SMS:
        return {"kind": IdentityKind.PHONE}
    if channel == MessageChannel.WECHAT:
        found: dict[str, Any] = {"kind": IdentityKind.WECHAT_OPENID}
        if config.get("app_id"):
            found["system"] = config["app_id"]
        return found
    if channel == MessageChannel.PUSH:
        return {"kind": IdentityKind.EXTERNAL,
                "system": config.get("identity_system") or "app"}
    return None


def addresses_for(customer_ids: Iterable[int], channel: str, setup: ChannelSetup | None
                  ) -> dict[int, str]:
    """Where a message on `channel` goes, per customer (one query): the primary (else the
    newest) email, phone, WeChat OpenID (of the official account's app id, when set) or
    app user id. Customers without one are left out."""
    wanted = _identity_filter(channel, setup)
    ids = list(customer_ids)
    if wanted is None or not ids:
        return {}
    out: dict[int, str] = {}
    rows = (Identity.objects.filter(customer_id__in=ids, **wanted)
            .order_by("customer_id", "-is_primary", "-created_at", "-pk")
            .values_list("customer_id", "value"))
    for cid, value in rows:
        out.setdefault(cid, value)
    return out


def quiet_until(local: dt.datetime, start: dt.time, end: dt.time) -> dt.datetime | None:
    """When the quiet hours around `local` end, None when `local` is outside them. A
    window may run over midnight (21:00–08:00)."""
    if start == end:
        return None
    t = local.timetz().replace(tzinfo=None)
    if start < end:
        inside = start <= t < end
        end_day = local.date()
    else:
        inside = t >= start or t < end
        end_day = local.date() + dt.timedelta(days=1) if t >= start else local.date()
    if not inside:
        return None
    return dt.datetime.combine(end_day, end, local.tzinfo)


def _quiet(setup: ChannelSetup | None, customer: Customer, now: dt.datetime
           ) -> dt.datetime | None:
    if setup is None:
        return None
    start, end = _as_time(setup.quiet_start), _as_time(setup.quiet_end)
    return quiet_until(now.astimezone(customer_tz(customer)), start, end)


def _as_time(value: Any) -> dt.time:
    return value if isinstance(value, dt.time) else dt.time.fromisoformat(str(value))


def sent_in_window(customer_ids: Iterable[int], now: dt.datetime, days: int
                   ) -> dict[int, int]:
    """Marketing and survey messages gone out per customer in the rolling window."""
    rows = (Message.objects.filter(customer_id__in=list(customer_ids), purpose__in=CAPPED,
                                   status__in=OUT, sent_at__gt=now - dt.timedelta(days=days))
            .values("customer_id").annotate(n=Count("pk")).values_list("customer_id", "n"))
    return dict(rows)


@dataclass(frozen=True)
class Facts:
    """What the policy looks at, read from the database at dispatch time."""

    purpose: str
    erased: bool = False
    channel_active: bool = True
    address: str = ""
    consented: bool = False
    suppressed: frozenset[str] = frozenset()  # reasons the address is on the list for
    quiet_until: dt.datetime | None = None     # the end of the quiet hours we are in
    sent_in_window: int = 0
    cap: int = 0                               # 0: no cap


def verdict(f: Facts) -> Decision:
    """The policy itself, as a pure function of the facts (property-tested)."""
    if f.erased:
        return Decision(False, "erased")
    if not f.channel_active:
        return Decision(False, "channel_off")
    if not f.address:
        return Decision(False, "no_address")
    if f.purpose in NEED_CONSENT and not f.consented:
        return Decision(False, "no_consent", address=f.address)
    blocking = f.suppressed if f.purpose in CAPPED else f.suppressed - MARKETING_ONLY
    if blocking:
        return Decision(False, "suppressed", address=f.address)
    if f.purpose != Purpose.TRANSACTIONAL and f.quiet_until is not None:
        return Decision(False, "quiet_hours", hold_until=f.quiet_until, address=f.address)
    if f.purpose in CAPPED and f.cap and f.sent_in_window >= f.cap:
        return Decision(False, "frequency_cap", address=f.address)
    return Decision(True, address=f.address)


def decide_many(messages: Sequence[Message], customers: Mapping[int, Customer],
                setups: Mapping[str, ChannelSetup], now: dt.datetime,
                rules: Policy | None = None) -> dict[int, Decision]:
    """Whether each message may go out now (by message id). Call it inside the dispatch
    transaction, with the customers' rows locked (select_for_update) so concurrent
    dispatches of the same customer's messages see each other's. The facts for the whole
    batch are read in a handful of queries; messages of one customer in the batch count
    against the cap in turn."""
    rules = rules or policy()
    addresses: dict[tuple[int, str], str] = {}
    for channel in {m.channel for m in messages}:
        setup = setups.get(channel)
        if setup is not None and setup.active:
            ids = {m.customer_id for m in messages if m.channel == channel}
            for cid, value in addresses_for(ids, channel, setup).items():
                addresses[cid, channel] = value
    cids = {m.customer_id for m in messages}
    consents = set(Consent.objects.filter(customer_id__in=cids, granted=True).values_list(
        "customer_id", "channel", "purpose"))
    suppressed: dict[tuple[str, str], set[str]] = {}
    for channel in {c for _cid, c in addresses}:
        values = {v for (_cid, c), v in addresses.items() if c == channel}
        for address, reason in Suppression.objects.filter(
                channel=channel, address__in=values).values_list("address", "reason"):
            suppressed.setdefault((channel, address), set()).add(reason)
    capping = rules.cap_messages and any(m.purpose in CAPPED for m in messages)
    counts = sent_in_window(cids, now, rules.cap_days) if capping else {}
    out: dict[int, Decision] = {}
    for m in messages:
        customer, setup = customers[m.customer_id], setups.get(m.channel)
        active = setup is not None and setup.active
        address = addresses.get((m.customer_id, m.channel), "")
        facts = Facts(
            purpose=m.purpose, erased=customer.erased_at is not None, channel_active=active,
            address=address,
            consented=(m.customer_id, m.channel, m.purpose) in consents,
            suppressed=frozenset(suppressed.get((m.channel, address), ())),
            quiet_until=_quiet(setup, customer, now) if active else None,
            sent_in_window=counts.get(m.customer_id, 0), cap=rules.cap_messages)
        out[m.pk] = decision = verdict(facts)
        if decision.send and m.purpose in CAPPED:
            counts[m.customer_id] = counts.get(m.customer_id, 0) + 1
    return out

